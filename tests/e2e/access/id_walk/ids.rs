//! The ids the ledger mints: recognised by shape, harvested from answers, and a well-formed
//! stand-in made for each of B's values that exists nowhere.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// `prefix_<32 hex>` (a minted id: `evt_…`, `cgr_…`, `aud_…`) or `bmcp_<16 hex>` (a key id).
pub(super) fn is_minted(s: &str) -> bool {
    let hex = |h: &str, n: usize| {
        h.len() == n
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    match s.split_once('_') {
        Some(("bmcp", h)) => hex(h, 16),
        Some((p, h)) => {
            !p.is_empty() && p.len() <= 8 && p.bytes().all(|b| b.is_ascii_lowercase()) && hex(h, 32)
        }
        None => false,
    }
}

/// A well-formed value shaped like `v` that exists nowhere: a minted id gets fresh hex after
/// its prefix; anything else keeps its first word and has the rest rotated (letters by 13,
/// digits by 5), so it keeps its characters' classes and its length.
fn unknown_like(v: &str, taken: &BTreeSet<String>) -> String {
    let fresh = uuid::Uuid::now_v7().simple().to_string();
    let u = match v.split_once('_') {
        Some(("bmcp", _)) if is_minted(v) => format!("bmcp_{}", &fresh[16..]),
        Some((prefix, _)) if is_minted(v) => format!("{prefix}_{fresh}"),
        _ => {
            let cut = v.find(['_', '-']).map_or(0, |i| i + 1);
            let rotated: String = v[cut..]
                .chars()
                .map(|c| match c {
                    'a'..='z' => char::from(b'a' + (c as u8 - b'a' + 13) % 26),
                    'A'..='Z' => char::from(b'A' + (c as u8 - b'A' + 13) % 26),
                    '0'..='9' => char::from(b'0' + (c as u8 - b'0' + 5) % 10),
                    c => c,
                })
                .collect();
            format!("{}{rotated}", &v[..cut])
        }
    };
    assert!(
        u != v && !taken.contains(&u),
        "`{u}` (made for `{v}`) exists"
    );
    u
}

/// One stand-in per value of B's, the same in every call that value is tried in.
pub(super) struct StandIns {
    taken: BTreeSet<String>,
    made: BTreeMap<String, String>,
}

impl StandIns {
    pub(super) fn new(taken: BTreeSet<String>) -> StandIns {
        StandIns {
            taken,
            made: BTreeMap::new(),
        }
    }

    pub(super) fn of(&mut self, real: &str) -> String {
        if let Some(u) = self.made.get(real) {
            return u.clone();
        }
        let u = unknown_like(real, &self.taken);
        self.taken.insert(u.clone());
        self.made.insert(real.to_string(), u.clone());
        u
    }
}

/// Every minted id in `v`, and every `next_cursor`.
pub(super) fn harvest(v: &Value, into: &mut BTreeSet<String>) {
    match v {
        Value::String(s) if is_minted(s) => {
            into.insert(s.clone());
        }
        Value::Object(o) => {
            if let Some(Value::String(c)) = o.get("next_cursor") {
                into.insert(c.clone());
            }
            o.values().for_each(|v| harvest(v, into));
        }
        Value::Array(a) => a.iter().for_each(|v| harvest(v, into)),
        _ => {}
    }
}
