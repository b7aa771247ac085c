//! Where an upstream's progress goes: each call in flight is followed under the session it went
//! on and the progress token the gateway sent with it (each session numbers its tokens from 0),
//! to the client that made it and under the client's own token. An
//! upstream can send progress before the gateway has registered the call (the request is on the
//! wire before the call's task runs on): such progress is kept a moment and handed over when the
//! call registers, so none is lost. Progress for a call already answered is dropped.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use rmcp::model::{ProgressNotificationParam, ProgressToken};

/// How long progress for a call not registered yet is kept.
const EARLY_FOR: Duration = Duration::from_secs(5);
/// At most this many unregistered calls' progress is kept, and this many notifications each.
const EARLY_CALLS: usize = 64;
const EARLY_EACH: usize = 16;
/// Calls answered whose late progress is recognised and dropped.
const ENDED_KEPT: usize = 1024;

/// A call sent upstream: its session's number and the progress token sent with it.
pub type Call = (usize, ProgressToken);

/// A followed call: the client, its own token, and whether the upstream sent progress.
struct Followed<C> {
    client: C,
    token: ProgressToken,
    sent: bool,
}

/// The progress routes of one upstream; `C` is how a client is reached.
pub struct Routes<C> {
    followed: HashMap<Call, Followed<C>>,
    early: HashMap<Call, (Instant, Vec<ProgressNotificationParam>)>,
    ended: VecDeque<Call>,
}

impl<C> Default for Routes<C> {
    fn default() -> Self {
        Routes {
            followed: HashMap::new(),
            early: HashMap::new(),
            ended: VecDeque::new(),
        }
    }
}

impl<C: Clone> Routes<C> {
    /// Follow the call sent upstream under `upstream` for `client` (its own token `token`); the
    /// progress that came before, under the client's token, to send it first.
    pub fn follow(
        &mut self,
        upstream: Call,
        client: C,
        token: ProgressToken,
    ) -> Vec<ProgressNotificationParam> {
        let early = self
            .early
            .remove(&upstream)
            .map(|(_, p)| p)
            .unwrap_or_default();
        self.followed.insert(
            upstream,
            Followed {
                client,
                token: token.clone(),
                sent: !early.is_empty(),
            },
        );
        early
            .into_iter()
            .map(|mut p| {
                p.progress_token = token.clone();
                p
            })
            .collect()
    }

    /// Where `progress` from session `session` goes now: its client and the notification under
    /// the client's token, or nothing (kept for a call not registered yet, or dropped for one
    /// already answered).
    pub fn arrive(
        &mut self,
        session: usize,
        mut progress: ProgressNotificationParam,
        now: Instant,
    ) -> Option<(C, ProgressNotificationParam)> {
        let call = (session, progress.progress_token.clone());
        if let Some(f) = self.followed.get_mut(&call) {
            f.sent = true;
            progress.progress_token = f.token.clone();
            return Some((f.client.clone(), progress));
        }
        if self.ended.contains(&call) {
            return None;
        }
        self.early
            .retain(|_, (at, _)| now.duration_since(*at) < EARLY_FOR);
        if self.early.len() >= EARLY_CALLS && !self.early.contains_key(&call) {
            return None;
        }
        let (_, kept) = self.early.entry(call).or_insert_with(|| (now, Vec::new()));
        if kept.len() < EARLY_EACH {
            kept.push(progress);
        }
        None
    }

    /// Whether the upstream sent progress for the call.
    pub fn sent(&self, upstream: &Call) -> bool {
        self.followed.get(upstream).is_some_and(|f| f.sent)
    }

    /// The call was answered: later progress for it is dropped.
    pub fn end(&mut self, upstream: &Call) {
        self.followed.remove(upstream);
        self.early.remove(upstream);
        if self.ended.len() >= ENDED_KEPT {
            self.ended.pop_front();
        }
        self.ended.push_back(upstream.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::NumberOrString;

    fn token(n: i64) -> ProgressToken {
        ProgressToken(NumberOrString::Number(n))
    }

    fn call(n: i64) -> Call {
        (0, token(n))
    }

    fn progress(n: i64, value: f64) -> ProgressNotificationParam {
        ProgressNotificationParam::new(token(n), value)
    }

    #[test]
    fn progress_before_the_call_registers_is_handed_over_under_the_clients_token() {
        let (mut routes, now) = (Routes::<&str>::default(), Instant::now());
        assert!(routes.arrive(0, progress(7, 1.0), now).is_none());
        assert!(routes.arrive(0, progress(7, 2.0), now).is_none());
        let early = routes.follow(call(7), "alice", token(100));
        assert_eq!(
            early
                .iter()
                .map(|p| (p.progress_token.clone(), p.progress))
                .collect::<Vec<_>>(),
            vec![(token(100), 1.0), (token(100), 2.0)]
        );
        assert!(routes.sent(&call(7)));
        let (client, p) = routes.arrive(0, progress(7, 3.0), now).unwrap();
        assert_eq!(
            (client, p.progress_token, p.progress),
            ("alice", token(100), 3.0)
        );
    }

    #[test]
    fn progress_after_the_answer_or_long_unclaimed_goes_nowhere() {
        let (mut routes, now) = (Routes::<&str>::default(), Instant::now());
        assert!(routes.follow(call(1), "alice", token(9)).is_empty());
        assert!(!routes.sent(&call(1)));
        routes.end(&call(1));
        assert!(routes.arrive(0, progress(1, 5.0), now).is_none());
        assert!(
            routes.follow(call(1), "bob", token(3)).is_empty(),
            "late progress is not kept"
        );
        // Progress for a call that never registers is gone after a moment.
        assert!(routes.arrive(0, progress(2, 1.0), now).is_none());
        assert!(
            routes
                .arrive(0, progress(3, 1.0), now + EARLY_FOR)
                .is_none()
        );
        assert!(routes.follow(call(2), "carol", token(4)).is_empty());
        assert_eq!(routes.follow(call(3), "dave", token(5)).len(), 1);
    }

    #[test]
    fn the_same_token_on_two_sessions_is_two_calls() {
        let (mut routes, now) = (Routes::<&str>::default(), Instant::now());
        routes.follow((0, token(0)), "alice", token(5));
        routes.follow((1, token(0)), "bob", token(9));
        let (client, p) = routes.arrive(1, progress(0, 1.0), now).unwrap();
        assert_eq!((client, p.progress_token), ("bob", token(9)));
        let (client, p) = routes.arrive(0, progress(0, 1.0), now).unwrap();
        assert_eq!((client, p.progress_token), ("alice", token(5)));
    }

    #[test]
    fn what_is_kept_for_unregistered_calls_is_bounded() {
        let (mut routes, now) = (Routes::<&str>::default(), Instant::now());
        for n in 0..(EARLY_CALLS as i64 + 10) {
            for k in 0..(EARLY_EACH + 5) {
                routes.arrive(0, progress(n, k as f64), now);
            }
        }
        assert_eq!(routes.early.len(), EARLY_CALLS);
        assert!(routes.early.values().all(|(_, p)| p.len() == EARLY_EACH));
    }
}
