//! Text for the ear, pure (no IO, no clock, no threads): a reply cleaned of what TTS reads badly
//! (`cleanup`), cut into sentences as it arrives (`sentences`), each sentence's language read
//! from its script (`lang`), a sentence cut into runs of one voice each (`runs`), and whether
//! a reply ends with a question (`question`, which the machine uses to open a follow-up).

pub mod cleanup;
pub mod lang;
pub mod question;
pub mod runs;
pub mod sentences;
