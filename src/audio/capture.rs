//! TODO(owner: see lib.rs Layout): capture
