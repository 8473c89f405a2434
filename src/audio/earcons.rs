//! TODO(owner: see lib.rs Layout): earcons
