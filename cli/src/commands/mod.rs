//! One module per command group.

pub mod index;
pub mod load;
pub mod lookup;
pub mod search;
