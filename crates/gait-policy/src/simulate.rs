//! `gait policy simulate`: what would change if a candidate policy replaced
//! a baseline, over a set of intent fixtures.
//!
//! Every fixture is evaluated under both policies (evaluation only: no
//! trace, no approvals, no rate-limit state). A fixture *changed* when its
//! verdict, reason codes, violations or matched rule differ. The
//! [`Recommendation`] then says how to roll the candidate out:
//!
//! * [`Recommendation::Observe`] when any changed fixture becomes `allow`
//!   from something else (the candidate relaxes the gate);
//! * otherwise [`Recommendation::RequireApproval`] when any becomes `block`
//!   from something else (the candidate blocks calls that ran before);
//! * otherwise [`Recommendation::Enforce`] (including when nothing changed).
//!
//! Fixtures are found as the reference finds them ([`resolve_fixture_paths`]):
//! a file must end in `.json` (any case); a directory is walked recursively
//! (symbolic links to directories are not followed) for `.json` files;
//! paths are cleaned, de-duplicated, and sorted by bytes.
//!
//! # Example
//!
//! ```
//! use gait_policy::simulate::{Fixture, Recommendation, simulate};
//! use gait_policy::{EvalOptions, Intent, Policy};
//!
//! let baseline = Policy::from_yaml_str("default_verdict: allow\n")?;
//! let candidate = Policy::from_yaml_str(
//!     "default_verdict: allow\nrules:\n  - name: no-delete\n    effect: block\n    match:\n      tool_names: [tool.delete]\n",
//! )?;
//! let intent = Intent::from_json_str(r#"{"tool_name":"tool.delete","args":{},"targets":[],
//!     "context":{"identity":"a","workspace":"/w","risk_class":"low"}}"#)?;
//! let fixtures = [Fixture::new("delete.json", intent)];
//! let sim = simulate(&baseline, &candidate, &fixtures, &EvalOptions::default());
//! assert_eq!(sim.changed.len(), 1);
//! assert_eq!(sim.recommendation, Recommendation::RequireApproval);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, HashSet};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use gait_digest::{Sha256Digest, clean_path};

use crate::eval::{EvalOptions, evaluate};
use crate::intent::Intent;
use crate::policy::{Policy, Verdict};

/// Largest intent fixture read, in bytes.
pub const MAX_FIXTURE_BYTES: u64 = 8 << 20;

/// Why fixtures could not be found or read. The messages are the CLI's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimulateError {
    /// No fixture path was given.
    #[error("missing required --fixtures <csv files/dirs>")]
    NoFixturesGiven,
    /// A given path does not exist or cannot be examined.
    #[error("fixtures path: stat {path}: {message}")]
    Stat {
        /// The path as given (trimmed).
        path: String,
        /// The operating system's message.
        message: String,
    },
    /// A directory could not be walked.
    #[error("walk fixtures directory: {path}: {message}")]
    Walk {
        /// The directory that failed.
        path: String,
        /// The operating system's message.
        message: String,
    },
    /// A file given directly does not end in `.json`.
    #[error("fixture file must be .json: {0}")]
    NotJson(String),
    /// The inputs held no fixture.
    #[error("no intent fixtures discovered from --fixtures")]
    NoneFound,
    /// A fixture could not be read.
    #[error("read intent {path}: {message}")]
    Read {
        /// The fixture path.
        path: String,
        /// The cause.
        message: String,
    },
    /// A fixture is not a valid intent.
    #[error("intent {path}: {source}")]
    Intent {
        /// The fixture path.
        path: String,
        /// The cause.
        source: crate::intent::IntentError,
    },
}

/// One fixture path: as reported (cleaned) and as opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixturePath {
    /// The cleaned path, as reported in `fixture_path`.
    pub display: String,
    /// The path to open.
    pub path: PathBuf,
}

/// Finds the fixtures named by `inputs` (the `--fixtures` items, already
/// split; each is trimmed and empty ones are skipped). See the module
/// documentation for the rules.
pub fn resolve_fixture_paths<S: AsRef<str>>(
    inputs: &[S],
) -> Result<Vec<FixturePath>, SimulateError> {
    let inputs: Vec<&str> = inputs
        .iter()
        .map(|s| s.as_ref().trim())
        .filter(|s| !s.is_empty())
        .collect();
    if inputs.is_empty() {
        return Err(SimulateError::NoFixturesGiven);
    }
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(|e| SimulateError::Stat {
            path: input.to_owned(),
            message: e.to_string(),
        })?;
        if meta.is_dir() {
            walk(Path::new(input), input, &mut |p| {
                if seen.insert(p.display.clone()) {
                    found.push(p);
                }
            })?;
            continue;
        }
        let display = clean_path(input);
        if !has_json_extension(&display) {
            return Err(SimulateError::NotJson(display));
        }
        if seen.insert(display.clone()) {
            found.push(FixturePath {
                display,
                path: PathBuf::from(input),
            });
        }
    }
    if found.is_empty() {
        return Err(SimulateError::NoneFound);
    }
    found.sort_by(|a, b| a.display.cmp(&b.display));
    Ok(found)
}

/// Walks `path` depth-first in name order, reporting every non-directory
/// entry whose name ends in `.json`. The root is examined without following
/// a symbolic link (a link to a directory is then an entry, not a tree).
fn walk(
    path: &Path,
    display: &str,
    found: &mut dyn FnMut(FixturePath),
) -> Result<(), SimulateError> {
    let walk_err = |e: std::io::Error| SimulateError::Walk {
        path: display.to_owned(),
        message: e.to_string(),
    };
    let is_dir = std::fs::symlink_metadata(path).map_err(walk_err)?.is_dir();
    if !is_dir {
        let display = clean_path(display);
        if has_json_extension(&display) {
            found(FixturePath {
                display,
                path: path.to_path_buf(),
            });
        }
        return Ok(());
    }
    let mut entries = std::fs::read_dir(path)
        .map_err(walk_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(walk_err)?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name();
        let child = format!("{display}/{}", name.to_string_lossy());
        walk(&entry.path(), &child, found)?;
    }
    Ok(())
}

/// Whether the last path element has the extension `.json`, in any case
/// (Go's `filepath.Ext`: from the last dot of the last element).
fn has_json_extension(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.rfind('.')
        .and_then(|i| name.get(i..))
        .is_some_and(|ext| ext.eq_ignore_ascii_case(".json"))
}

/// One intent fixture.
#[derive(Clone, Debug)]
pub struct Fixture {
    /// The path reported for it.
    pub path: String,
    /// The normalised intent.
    pub intent: Intent,
}

impl Fixture {
    /// A fixture from an already loaded intent.
    pub fn new(path: impl Into<String>, intent: Intent) -> Self {
        Self {
            path: path.into(),
            intent,
        }
    }

    /// Reads and normalises the intent at `path` (at most
    /// [`MAX_FIXTURE_BYTES`]).
    pub fn load(path: &FixturePath) -> Result<Self, SimulateError> {
        let read_err = |message: String| SimulateError::Read {
            path: path.display.clone(),
            message,
        };
        let file = gait_sign::open_regular_file(&path.path).map_err(|e| read_err(e.to_string()))?;
        let mut bytes = Vec::new();
        file.take(MAX_FIXTURE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| read_err(e.to_string()))?;
        if bytes.len() as u64 > MAX_FIXTURE_BYTES {
            return Err(read_err(format!("larger than {MAX_FIXTURE_BYTES} bytes")));
        }
        let intent = Intent::from_json_slice(&bytes).map_err(|source| SimulateError::Intent {
            path: path.display.clone(),
            source,
        })?;
        Ok(Self::new(path.display.clone(), intent))
    }
}

/// What one policy decided for one fixture: the fields compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The verdict.
    pub verdict: Verdict,
    /// Reason codes, sorted.
    pub reason_codes: Vec<String>,
    /// Violations, sorted.
    pub violations: Vec<String>,
    /// The matched rule(s), empty when the default verdict applied.
    pub matched_rule: String,
}

/// A fixture whose outcome differs between the two policies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixtureChange {
    /// The fixture's path.
    pub fixture_path: String,
    /// The normalised intent's digest.
    pub intent_digest: Sha256Digest,
    /// The baseline's outcome.
    pub baseline: Outcome,
    /// The candidate's outcome.
    pub candidate: Outcome,
}

impl FixtureChange {
    /// Whether the candidate allows what the baseline did not.
    pub fn relaxes_to_allow(&self) -> bool {
        self.baseline.verdict != Verdict::Allow && self.candidate.verdict == Verdict::Allow
    }

    /// Whether the candidate blocks what the baseline did not.
    pub fn newly_blocks(&self) -> bool {
        self.baseline.verdict != Verdict::Block && self.candidate.verdict == Verdict::Block
    }
}

/// The rollout stage recommended for the candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recommendation {
    /// `enforce`: nothing relaxes to `allow` and nothing newly blocks.
    Enforce,
    /// `observe`: some fixture relaxes to `allow`; run the candidate in
    /// simulate mode first.
    Observe,
    /// `require_approval`: some fixture is newly blocked; roll out behind
    /// approvals.
    RequireApproval,
}

impl Recommendation {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Recommendation::Enforce => "enforce",
            Recommendation::Observe => "observe",
            Recommendation::RequireApproval => "require_approval",
        }
    }
}

/// The recommendation for a set of changes (see the module documentation).
pub fn recommend(changed: &[FixtureChange]) -> Recommendation {
    if changed.iter().any(FixtureChange::relaxes_to_allow) {
        Recommendation::Observe
    } else if changed.iter().any(FixtureChange::newly_blocks) {
        Recommendation::RequireApproval
    } else {
        Recommendation::Enforce
    }
}

/// The result of a simulation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Simulation {
    /// The baseline policy's digest.
    pub baseline_policy_digest: Sha256Digest,
    /// The candidate policy's digest.
    pub candidate_policy_digest: Sha256Digest,
    /// How many fixtures were evaluated.
    pub fixtures_total: usize,
    /// How many fixtures got each verdict under the baseline, by verdict
    /// name (only verdicts that occurred).
    pub baseline_verdicts: Vec<(Verdict, usize)>,
    /// The same under the candidate.
    pub candidate_verdicts: Vec<(Verdict, usize)>,
    /// The changed fixtures, in fixture order.
    pub changed: Vec<FixtureChange>,
    /// The rollout recommendation.
    pub recommendation: Recommendation,
}

impl Simulation {
    /// `policy simulate fixtures=<n> changed=<n> recommendation=<stage>`.
    pub fn summary(&self) -> String {
        format!(
            "policy simulate fixtures={} changed={} recommendation={}",
            self.fixtures_total,
            self.changed.len(),
            self.recommendation.as_str()
        )
    }
}

/// Evaluates every fixture under `baseline` and `candidate` with the same
/// options (hence at the same instant) and compares the outcomes.
pub fn simulate(
    baseline: &Policy,
    candidate: &Policy,
    fixtures: &[Fixture],
    opts: &EvalOptions,
) -> Simulation {
    let mut baseline_counts = BTreeMap::new();
    let mut candidate_counts = BTreeMap::new();
    let mut changed = Vec::new();
    for fixture in fixtures {
        let b = outcome(baseline, &fixture.intent, opts);
        let c = outcome(candidate, &fixture.intent, opts);
        *baseline_counts.entry(b.verdict.as_str()).or_insert(0) += 1;
        *candidate_counts.entry(c.verdict.as_str()).or_insert(0) += 1;
        if b != c {
            changed.push(FixtureChange {
                fixture_path: fixture.path.clone(),
                intent_digest: fixture.intent.intent_digest(),
                baseline: b,
                candidate: c,
            });
        }
    }
    let counts = |m: BTreeMap<&str, usize>| {
        m.into_iter()
            .filter_map(|(name, n)| Verdict::from_name(name).map(|v| (v, n)))
            .collect()
    };
    Simulation {
        baseline_policy_digest: baseline.digest(),
        candidate_policy_digest: candidate.digest(),
        fixtures_total: fixtures.len(),
        baseline_verdicts: counts(baseline_counts),
        candidate_verdicts: counts(candidate_counts),
        recommendation: recommend(&changed),
        changed,
    }
}

fn outcome(policy: &Policy, intent: &Intent, opts: &EvalOptions) -> Outcome {
    let d = evaluate(policy, intent, opts);
    Outcome {
        verdict: d.verdict(),
        reason_codes: d.reason_codes().to_vec(),
        violations: d.violations().to_vec(),
        matched_rule: d.matched_rule().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        reason = "test code: a failure should panic"
    )]

    use super::*;

    fn intent(tool: &str) -> Intent {
        Intent::from_json_str(&format!(
            r#"{{"tool_name":"{tool}","args":{{}},"targets":[],"context":{{"identity":"a","workspace":"/w","risk_class":"low"}}}}"#
        ))
        .unwrap()
    }

    fn policy(yaml: &str) -> Policy {
        Policy::from_yaml_str(yaml).unwrap()
    }

    fn change(from: Verdict, to: Verdict) -> FixtureChange {
        let o = |verdict| Outcome {
            verdict,
            reason_codes: Vec::new(),
            violations: Vec::new(),
            matched_rule: String::new(),
        };
        FixtureChange {
            fixture_path: "f.json".into(),
            intent_digest: intent("t").intent_digest(),
            baseline: o(from),
            candidate: o(to),
        }
    }

    #[test]
    fn recommendation_order() {
        use Verdict::{Allow, Block, DryRun, RequireApproval};
        assert_eq!(recommend(&[]), Recommendation::Enforce);
        assert_eq!(
            recommend(&[change(Block, RequireApproval)]),
            Recommendation::Enforce
        );
        assert_eq!(
            recommend(&[change(Allow, Allow)]),
            Recommendation::Enforce,
            "a reason-only change"
        );
        assert_eq!(
            recommend(&[change(DryRun, Block)]),
            Recommendation::RequireApproval
        );
        assert_eq!(
            recommend(&[change(Allow, Block), change(Block, Allow)]),
            Recommendation::Observe,
            "a relaxation wins over a new block"
        );
        assert_eq!(
            recommend(&[change(RequireApproval, Allow)]),
            Recommendation::Observe
        );
    }

    #[test]
    fn compares_every_field_and_counts_verdicts() {
        let baseline = policy(
            "default_verdict: require_approval\nrules:\n  - name: reads\n    effect: allow\n    match:\n      tool_names: [tool.read]\n",
        );
        let candidate = policy(
            "default_verdict: require_approval\nrules:\n  - name: reads-v2\n    effect: allow\n    match:\n      tool_names: [tool.read]\n  - name: no-delete\n    effect: block\n    match:\n      tool_names: [tool.delete]\n",
        );
        let fixtures = [
            Fixture::new("a.json", intent("tool.read")),
            Fixture::new("b.json", intent("tool.delete")),
            Fixture::new("c.json", intent("tool.write")),
        ];
        let sim = simulate(&baseline, &candidate, &fixtures, &EvalOptions::default());
        assert_eq!(sim.fixtures_total, 3);
        assert_eq!(sim.baseline_policy_digest, baseline.digest());
        assert_eq!(sim.candidate_policy_digest, candidate.digest());
        assert_eq!(
            sim.baseline_verdicts,
            [(Verdict::Allow, 1), (Verdict::RequireApproval, 2)]
        );
        assert_eq!(
            sim.candidate_verdicts,
            [
                (Verdict::Allow, 1),
                (Verdict::Block, 1),
                (Verdict::RequireApproval, 1)
            ]
        );
        // a.json: same verdict, other matched rule; b.json: newly blocked.
        let paths: Vec<_> = sim
            .changed
            .iter()
            .map(|c| c.fixture_path.as_str())
            .collect();
        assert_eq!(paths, ["a.json", "b.json"]);
        assert_eq!(sim.changed[0].baseline.matched_rule, "reads");
        assert_eq!(sim.changed[0].candidate.matched_rule, "reads-v2");
        assert_eq!(sim.changed[1].candidate.verdict, Verdict::Block);
        assert_eq!(
            sim.changed[1].intent_digest,
            fixtures[1].intent.intent_digest()
        );
        assert_eq!(sim.recommendation, Recommendation::RequireApproval);
        assert_eq!(
            sim.summary(),
            "policy simulate fixtures=3 changed=2 recommendation=require_approval"
        );

        let same = simulate(&baseline, &baseline, &fixtures, &EvalOptions::default());
        assert!(same.changed.is_empty());
        assert_eq!(same.recommendation, Recommendation::Enforce);
    }

    #[test]
    fn fixture_discovery() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let d = |p: &str| root.join(p);
        std::fs::create_dir_all(d("fx/sub")).unwrap();
        for f in [
            "fx/b.json",
            "fx/a.JSON",
            "fx/notes.txt",
            "fx/sub/c.json",
            "fx/.json",
            "top.json",
            "top.yaml",
        ] {
            std::fs::write(d(f), "{}").unwrap();
        }
        let s = |p: &str| d(p).display().to_string();
        let fx = s("fx");
        let got = resolve_fixture_paths(&[
            format!(" {fx}/ "),
            String::new(),
            s("top.json"),
            format!("{fx}/./b.json"),
        ])
        .unwrap();
        let names: Vec<String> = got
            .iter()
            .map(|p| {
                p.display
                    .strip_prefix(&format!("{}/", root.display()))
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            names,
            [
                "fx/.json",
                "fx/a.JSON",
                "fx/b.json",
                "fx/sub/c.json",
                "top.json"
            ]
        );
        for p in &got {
            assert!(p.path.exists(), "{p:?}");
        }

        let err = |inputs: &[String]| resolve_fixture_paths(inputs).unwrap_err().to_string();
        assert_eq!(
            err(&[" ".into()]),
            "missing required --fixtures <csv files/dirs>"
        );
        assert!(err(&[s("top.yaml")]).starts_with("fixture file must be .json: "));
        assert!(err(&[s("missing")]).starts_with("fixtures path: stat "));
        std::fs::create_dir(d("empty")).unwrap();
        assert_eq!(
            err(&[s("empty")]),
            "no intent fixtures discovered from --fixtures"
        );
    }

    #[test]
    fn fixture_load_errors() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{not json").unwrap();
        let fp = |p: &Path| FixturePath {
            display: p.display().to_string(),
            path: p.to_path_buf(),
        };
        assert!(matches!(
            Fixture::load(&fp(&bad)),
            Err(SimulateError::Intent { .. })
        ));
        assert!(matches!(
            Fixture::load(&fp(&dir.path().join("missing.json"))),
            Err(SimulateError::Read { .. })
        ));
        let good = dir.path().join("good.json");
        std::fs::write(
            &good,
            r#"{"tool_name":"tool.read","args":{},"targets":[],"context":{"identity":"a","workspace":"/w","risk_class":"low"}}"#,
        )
        .unwrap();
        let f = Fixture::load(&fp(&good)).unwrap();
        assert_eq!(
            f.intent.intent_digest(),
            intent("tool.read").intent_digest()
        );
    }
}
