//! The shared vocabulary below every layer that talks to the outside: validated input types
//! (ids, names, keys, text, maps, currency, decimals, URLs) that refuse bad values while
//! arguments are parsed, and the values answers share (money, a page of a list). The core is
//! the only thing they stand on.

mod input;
mod view;

pub use input::*;
pub use view::{Money, PageInfo};
