//! TODO: speech::cleanup
