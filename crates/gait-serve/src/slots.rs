//! Connection slots: at most `max` connections are served at once, and a
//! connection that keeps the server waiting yields its slot.
//!
//! A connection is *waiting* from the moment it is accepted (or its last
//! response was produced) until its next request body has been read in
//! full: idle keep-alive, slow headers and slow bodies all count. It is
//! *busy* from then until its response is produced (its evaluation runs
//! and its trace is written; it is never interrupted then). When every
//! slot is taken, a new connection takes the slot of the connection that
//! has been waiting longest, provided it has waited at least
//! `evict_after`; the evicted connection is closed. With no such
//! connection the new one waits (see `http::serve`) or is shed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

#[derive(Debug)]
struct Entry {
    /// Since when the server has been waiting on the client; `None` while
    /// busy.
    waiting_since: Option<Instant>,
    kill: Arc<Notify>,
}

#[derive(Debug, Default)]
struct Table {
    next_id: u64,
    conns: HashMap<u64, Entry>,
}

/// The slot table shared by the accept loop and the connections.
#[derive(Debug)]
pub(crate) struct Slots {
    table: Mutex<Table>,
    max: usize,
    evict_after: Duration,
    /// Signalled whenever a slot is released.
    released: Notify,
}

/// One admitted connection's slot; released on drop.
#[derive(Debug)]
pub(crate) struct Slot {
    id: u64,
    slots: Arc<Slots>,
    kill: Arc<Notify>,
}

impl Slots {
    pub(crate) fn new(max: usize, evict_after: Duration) -> Arc<Self> {
        Arc::new(Self {
            table: Mutex::new(Table::default()),
            max: max.max(1),
            evict_after,
            released: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for a new connection: a free one, or the slot of the
    /// connection that has waited longest (at least `evict_after`), which
    /// is told to close. `None` when every slot is busy or recently used.
    pub(crate) fn admit(self: &Arc<Self>) -> Option<Slot> {
        let now = Instant::now();
        let mut t = self.lock();
        if t.conns.len() >= self.max {
            let victim = t
                .conns
                .iter()
                .filter_map(|(id, e)| e.waiting_since.map(|since| (since, *id)))
                .filter(|(since, _)| now.saturating_duration_since(*since) >= self.evict_after)
                .min()
                .map(|(_, id)| id)?;
            if let Some(e) = t.conns.remove(&victim) {
                e.kill.notify_one();
            }
        }
        let id = t.next_id;
        t.next_id = t.next_id.wrapping_add(1);
        let kill = Arc::new(Notify::new());
        t.conns.insert(
            id,
            Entry {
                waiting_since: Some(now),
                kill: Arc::clone(&kill),
            },
        );
        Some(Slot {
            id,
            slots: Arc::clone(self),
            kill,
        })
    }

    /// Completes when a slot may have become free.
    pub(crate) async fn released(&self) {
        self.released.notified().await;
    }

    /// Connections holding a slot.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().conns.len()
    }

    fn set(&self, id: u64, waiting_since: Option<Instant>) {
        if let Some(e) = self.lock().conns.get_mut(&id) {
            e.waiting_since = waiting_since;
        }
    }
}

impl Slot {
    /// The server now waits on the client (after a response).
    pub(crate) fn waiting(&self) {
        self.slots.set(self.id, Some(Instant::now()));
    }

    /// The request has been read; the connection keeps its slot until
    /// its response is produced.
    pub(crate) fn busy(&self) {
        self.slots.set(self.id, None);
    }

    /// Completes when another connection took this slot.
    pub(crate) async fn evicted(&self) {
        self.kill.notified().await;
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.lock().conns.remove(&self.id);
        self.slots.released.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn full_table_evicts_only_long_waiting_connections() {
        let slots = Slots::new(2, Duration::from_millis(50));
        let a = slots.admit().unwrap();
        let b = slots.admit().unwrap();
        b.busy();
        // Full, and nobody has waited long enough.
        assert!(slots.admit().is_none());
        std::thread::sleep(Duration::from_millis(80));
        // `a` has waited 80 ms: its slot goes to `c`; busy `b` stays.
        let c = slots.admit().unwrap();
        assert_eq!(slots.len(), 2);
        assert!(slots.admit().is_none());
        drop(a); // already evicted: nothing else is removed
        assert_eq!(slots.len(), 2);
        drop(c);
        assert_eq!(slots.len(), 1);
        assert!(slots.admit().is_some());
    }
}
