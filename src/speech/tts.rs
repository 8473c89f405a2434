//! TODO: speech::tts
