//! TODO(owner: see lib.rs Layout): playback
