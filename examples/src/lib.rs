//! Runnable examples of the Gait library APIs; see the `[[example]]` targets.
