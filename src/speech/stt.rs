//! TODO: speech::stt
