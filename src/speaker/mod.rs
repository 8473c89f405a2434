//! The speaker side of a turn: a reply (whole or still arriving) cut into sentences, each
//! synthesized in its language's voice a bounded lookahead ahead of playback (`synth`), played
//! in order, with the earcons and the report of what was heard (`pipeline`).

pub mod pipeline;
mod synth;
