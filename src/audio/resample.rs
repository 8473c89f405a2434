//! TODO(owner: see lib.rs Layout): resample
