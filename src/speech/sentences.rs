//! TODO: speech::sentences
