//! The pipeline side of the machine: what each stage's result (recording, transcript, answer,
//! speech report) leads to, and which late results are stale.

use std::time::{Duration, Instant};

use super::{Action, Earcon, Led, Machine, Outcome, Phase, ReplyEnd, Speech, Turn};
use crate::config::ButtonMode;
use crate::event::{Answer, Failure, FailureClass, Recording, SpeechReport, Transcript, TurnId};

impl Machine {
    /// `Event::Captured`: a recording of the current turn that is not sent to STT hangs up the
    /// live transcription that heard it (its connection closes now, not at its timeout).
    pub(super) fn captured(
        &mut self,
        id: TurnId,
        result: Result<Recording, Failure>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let (turn, stopping) = match self.take_phase() {
            Phase::Listening { turn, stopping, .. } if turn.id == id => (turn, stopping),
            other => {
                // Stale: a cancelled or abandoned turn, whose CancelCapture (or the next
                // StartCapture) already hung its live transcription up.
                self.phase = other;
                return;
            }
        };
        let start = out.len();
        self.recording_ended(turn, stopping, result, now, out);
        let transcribed = out[start..]
            .iter()
            .any(|a| matches!(a, Action::Transcribe { turn, .. } if *turn == id));
        if !transcribed {
            out.push(Action::HangUpLive { turn: id });
        }
    }

    fn recording_ended(
        &mut self,
        mut turn: Turn,
        stopping: Option<Duration>,
        result: Result<Recording, Failure>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let id = turn.id;
        let recording = match result {
            Ok(r) => r,
            Err(f) => return self.say_failure(turn, f.class, now, out),
        };
        let heard = recording.has_speech && recording.clip.duration() >= self.settings.min_record;
        if turn.follow_up && !heard {
            // Nobody took up the reply's question: back to idle without a word.
            return self.finish(turn, Outcome::NoFollowUp, Led::Idle, now, out);
        }
        if stopping.is_none() {
            // Capture ended by itself (its own time limit): tell the user, as for MaxRecord.
            out.push(Action::Earcon(Earcon::Stopped));
            out.push(Action::Led(Led::Thinking));
            self.arm_thinking_cue(id, out);
        }
        turn.record_ms = Some(recording.record_ms);
        let held = stopping.unwrap_or(Duration::ZERO);
        if self.settings.mode == ButtonMode::Hold
            && !recording.has_speech
            && held >= self.settings.long_press
        {
            self.memory.forget();
            out.push(Action::ForgetConversation);
            out.push(Action::Earcon(Earcon::Stopped));
            return self.finish(turn, Outcome::Forgotten, Led::Idle, now, out);
        }
        if !heard {
            out.push(Action::Warn(if recording.has_speech {
                format!(
                    "the recording was {} ms, shorter than audio.min_record_ms",
                    recording.record_ms
                )
            } else {
                format!(
                    "no speech heard in {} ms of audio (nothing above audio.speech_threshold); if someone spoke, check the microphone and its level",
                    recording.record_ms
                )
            }));
            return self.say_failure(turn, FailureClass::DidntCatch, now, out);
        }
        out.push(Action::Transcribe {
            turn: id,
            recording,
        });
        self.phase = Phase::Transcribing { turn };
    }

    pub(super) fn transcribed(
        &mut self,
        id: TurnId,
        result: Result<Transcript, Failure>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let mut turn = match self.take_phase() {
            Phase::Transcribing { turn } if turn.id == id => turn,
            other => {
                self.phase = other;
                return;
            }
        };
        let transcript = match result {
            Ok(t) => t,
            Err(f) => return self.say_failure(turn, f.class, now, out),
        };
        turn.stt_ms = Some(transcript.stt_ms);
        let question = transcript.text.trim();
        if question.is_empty() && turn.follow_up {
            // Noise in the follow-up window (a cough, the box's own earcon): not a question.
            return self.finish(turn, Outcome::NoFollowUp, Led::Idle, now, out);
        }
        if question.is_empty() {
            out.push(Action::Warn("speech recognition returned no words".into()));
            return self.say_failure(turn, FailureClass::DidntCatch, now, out);
        }
        turn.transcript_chars = question.chars().count();
        self.question_lang = Some(self.settings.languages.of(question));
        out.push(Action::Ask {
            turn: id,
            question: question.to_string(),
            history: self.memory.history(),
            lang: self.lang().to_string(),
        });
        self.phase = Phase::Thinking {
            turn,
            question: question.to_string(),
        };
    }

    /// A piece of a streamed reply: the first starts speaking, the rest follow it.
    pub(super) fn replying(&mut self, id: TurnId, text: String, out: &mut Vec<Action>) {
        match self.take_phase() {
            Phase::Thinking { mut turn, question } if turn.id == id => {
                turn.cue = false; // the reply's first audio ends it
                out.push(Action::SpeakPart {
                    turn: id,
                    text: text.clone(),
                });
                out.push(Action::Led(Led::Speaking));
                self.phase = Phase::Speaking {
                    turn,
                    speech: Speech::Reply {
                        question,
                        answer: text,
                        end: ReplyEnd::Arriving,
                        tools: Vec::new(),
                    },
                };
            }
            Phase::Speaking {
                turn,
                speech:
                    Speech::Reply {
                        question,
                        mut answer,
                        end: ReplyEnd::Arriving,
                        tools,
                    },
            } if turn.id == id => {
                answer.push_str(&text);
                out.push(Action::SpeakPart { turn: id, text });
                self.phase = Phase::Speaking {
                    turn,
                    speech: Speech::Reply {
                        question,
                        answer,
                        end: ReplyEnd::Arriving,
                        tools,
                    },
                };
            }
            other => self.phase = other, // a piece of an abandoned turn: never spoken
        }
    }

    pub(super) fn answered(
        &mut self,
        id: TurnId,
        result: Result<Answer, Failure>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let (mut turn, question) = match self.take_phase() {
            Phase::Thinking { turn, question } if turn.id == id => (turn, question),
            Phase::Speaking {
                turn,
                speech:
                    Speech::Reply {
                        question,
                        answer,
                        end: ReplyEnd::Arriving,
                        ..
                    },
            } if turn.id == id => return self.stream_ended(turn, question, answer, result, out),
            other => {
                self.phase = other; // late answer of an abandoned turn: never spoken
                return;
            }
        };
        let answer = match result {
            Ok(a) => a,
            Err(f) => return self.say_failure(turn, f.class, now, out),
        };
        turn.ollama_ms = Some(answer.ollama_ms);
        turn.attempts = answer.attempts;
        turn.response_chars = answer.text.chars().count();
        if answer.text.trim().is_empty() {
            out.push(Action::Warn("the model's reply was empty".into()));
            return self.say_failure(turn, FailureClass::BadReply, now, out);
        }
        turn.cue = false; // the reply's first audio ends it
        out.push(Action::Speak {
            turn: id,
            text: answer.text.clone(),
        });
        out.push(Action::Led(Led::Speaking));
        self.phase = Phase::Speaking {
            turn,
            speech: Speech::Reply {
                question,
                answer: answer.text,
                end: ReplyEnd::Complete,
                tools: answer.tools,
            },
        };
    }

    /// The request of a reply being spoken as it arrives has ended: all of it has arrived, or
    /// it broke off (any failure: what was spoken stays spoken, the cut-off message follows).
    fn stream_ended(
        &mut self,
        mut turn: Turn,
        question: String,
        arrived: String,
        result: Result<Answer, Failure>,
        out: &mut Vec<Action>,
    ) {
        let (answer, end, tail, tools) = match result {
            Ok(a) => {
                turn.ollama_ms = Some(a.ollama_ms);
                turn.attempts = a.attempts;
                (a.text, ReplyEnd::Complete, None, a.tools)
            }
            Err(_) => {
                let message = self.message(FailureClass::CutOff);
                (arrived, ReplyEnd::CutOff, message, Vec::new())
            }
        };
        turn.response_chars = answer.chars().count();
        let cut = tail.is_some();
        out.push(Action::EndSpeech {
            turn: turn.id,
            tail,
        });
        if cut {
            out.push(Action::Led(Led::Error));
        }
        self.phase = Phase::Speaking {
            turn,
            speech: Speech::Reply {
                question,
                answer,
                end,
                tools,
            },
        };
    }

    pub(super) fn spoken(
        &mut self,
        id: TurnId,
        report: &SpeechReport,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if let Some(mut summary) = self.draining.take_if(|s| s.turn_id == id) {
            summary.first_audio_ms = report.first_audio_ms;
            summary.sentences = report.sentences;
            out.push(Action::LogTurn(summary));
            return;
        }
        if self.ringing() {
            return self.rang(id, report, now, out);
        }
        let (turn, speech) = match self.take_phase() {
            Phase::Speaking { turn, speech } if turn.id == id => (turn, speech),
            other => {
                self.phase = other;
                return;
            }
        };
        // The speaker gave up before the reply had all arrived (its output failed): nobody
        // will hear the rest, so the request is hung up.
        if let Speech::Reply {
            end: ReplyEnd::Arriving,
            ..
        } = speech
        {
            out.push(Action::CancelAsk { turn: id });
        }
        let failed = report.device_error.is_some() || report.every_sentence_failed();
        let silent = report.sentences == 0 && !report.stopped;
        let announcement = matches!(speech, Speech::Announcement);
        let mut follow_up = false;
        let outcome = match speech {
            Speech::Reply { .. } if failed => Outcome::SpeechFailed,
            Speech::Reply { .. } if silent => {
                // Nothing speakable survived cleanup (only code or emoji): say so.
                out.push(Action::Warn(
                    "nothing in the model's reply could be spoken (only code, emoji or markup)"
                        .into(),
                ));
                return self.say_failure(turn, FailureClass::BadReply, now, out);
            }
            Speech::Reply {
                question,
                answer,
                end,
                tools,
            } => {
                self.memory.remember(&question, &answer, tools);
                if report.stopped {
                    Outcome::Interrupted
                } else if end == ReplyEnd::CutOff {
                    Outcome::Failed(FailureClass::CutOff)
                } else {
                    follow_up = self.follows_up(&answer);
                    Outcome::Answered
                }
            }
            // The failure message (or announcement) itself could not be spoken: the earcon is
            // all that is left.
            Speech::Notice(_) | Speech::Announcement if failed || silent => Outcome::SpeechFailed,
            Speech::Notice(outcome) => outcome,
            Speech::Announcement if report.stopped => Outcome::Interrupted,
            Speech::Announcement => Outcome::Announced,
        };
        let mut summary = turn.summary(outcome, now);
        summary.announcement = announcement;
        summary.first_audio_ms = report.first_audio_ms;
        summary.sentences = report.sentences;
        if follow_up {
            self.log(summary, out);
            return self.open_microphone(None, true, true, now, out);
        }
        let led = if outcome == Outcome::SpeechFailed {
            out.push(Action::Earcon(Earcon::Error));
            Led::Error
        } else {
            Led::Idle
        };
        self.log(summary, out);
        self.go_idle(led, now, out);
    }
}
