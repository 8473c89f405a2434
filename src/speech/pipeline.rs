//! TODO: speech::pipeline
