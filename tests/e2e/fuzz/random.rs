//! The campaign's randomness: a small deterministic PRNG (SplitMix64), seeded once per run so
//! every run makes the same calls, and the random strings and JSON values drawn from it.

use serde_json::{Value, json};

/// A small deterministic PRNG (SplitMix64).
pub(super) struct Rng(pub(super) u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())].clone()
    }
}

/// Characters a random string is drawn from, by kind.
const POOLS: [&[char]; 8] = [
    &['a', 'Z', '0', '9', '-', '_', '.', ':', '@'],
    &[
        '\u{0}', '\u{1}', '\u{8}', '\u{b}', '\u{1b}', '\u{7f}', '\u{80}', '\u{9f}',
    ],
    &['\n', '\t', '\r', ' '],
    &['🦀', '💸', '👩', '\u{200d}', '🏳', '\u{fe0f}'],
    &['\u{301}', '\u{336}', '\u{489}', '\u{20dd}'],
    &[
        '\u{202e}', '\u{202d}', 'م', 'ر', '\u{200f}', '\u{feff}', '\u{200b}',
    ],
    &['\'', '"', '\\', '%', '_', ';', '<', '/', '{', '}'],
    &['界', 'ё', 'ß', 'İ', '\u{10ffff}', '\u{fffd}'],
];

const LENGTHS: [usize; 14] = [0, 1, 2, 63, 64, 65, 127, 128, 129, 255, 256, 500, 501, 1000];

fn random_string(rng: &mut Rng) -> String {
    let len = match rng.below(3) {
        0 => rng.pick(&LENGTHS),
        _ => rng.below(40),
    };
    let pools: Vec<usize> = (0..1 + rng.below(3))
        .map(|_| rng.below(POOLS.len()))
        .collect();
    (0..len)
        .map(|_| {
            let pool = POOLS[pools[rng.below(pools.len())]];
            pool[rng.below(pool.len())]
        })
        .collect()
}

pub(super) fn random_value(rng: &mut Rng, depth: usize) -> Value {
    let ints: [i64; 10] = [
        0,
        1,
        -1,
        7,
        100,
        127,
        255,
        1000,
        i64::from(i32::MAX),
        i64::MAX,
    ];
    match rng.below(if depth > 2 { 5 } else { 7 }) {
        0 | 1 => json!(random_string(rng)),
        2 => {
            let base = rng.pick(&ints);
            let delta = rng.below(3) as i64 - 1;
            json!(base.saturating_add(delta))
        }
        3 => json!(rng.pick(&[0.5, 1.0, 2.5, -3.75, 1e-9, 1e21, -0.0])),
        4 => rng.pick(&[json!(true), json!(false), Value::Null]),
        5 => Value::Array(
            (0..rng.below(5))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.below(5))
                .map(|_| (random_string(rng), random_value(rng, depth + 1)))
                .collect(),
        ),
    }
}
