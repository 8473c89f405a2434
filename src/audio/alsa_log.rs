//! Routes alsa-lib's error messages to `tracing` at DEBUG instead of the process's stderr.
//!
//! Left alone, alsa-lib prints a line for every step of a failed lookup ("ALSA lib
//! confmisc.c:855:(parse_card) cannot find card '0'"), dozens when a device is missing, around the
//! one line that says what to do. With this handler the user reads voicebox's message, and
//! `RUST_LOG=debug` still shows where alsa-lib gave up.
//!
//! alsa-lib declares the handler variadic (`const char *fmt, ...`), and stable Rust cannot define
//! a variadic function. The handler here takes the five named parameters and never touches the
//! rest, declared through our own `extern` so no pointer is transmuted. That is sound on the C
//! ABIs voicebox runs on (x86-64 System V, AArch64 AAPCS64): named arguments travel the same way
//! whether or not the callee is variadic. The cost: the message is logged as its printf format
//! (`cannot find card '%i'`), not formatted.

/// Installs the handler once per process; later calls do nothing.
pub fn install() {
    #[cfg(target_os = "linux")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: `to_tracing` has the C ABI and reads only the named arguments (see above);
            // libasound is linked already (cpal → alsa-sys) and the call only stores the pointer.
            let rc = unsafe { ffi::snd_lib_error_set_handler(Some(ffi::to_tracing)) };
            if rc < 0 {
                tracing::debug!(rc, "alsa-lib refused the error handler; it keeps stderr");
            }
        });
    }
}

#[cfg(target_os = "linux")]
mod ffi {
    use std::borrow::Cow;
    use std::ffi::{CStr, c_char, c_int};

    type Handler = unsafe extern "C" fn(
        file: *const c_char,
        line: c_int,
        function: *const c_char,
        err: c_int,
        fmt: *const c_char,
    );

    #[link(name = "asound")]
    unsafe extern "C" {
        pub fn snd_lib_error_set_handler(handler: Option<Handler>) -> c_int;
    }

    /// Called by alsa-lib on whichever thread hit the error. Nothing here panics (a panic in an
    /// `extern "C"` function would abort the process rather than unwind into C).
    pub unsafe extern "C" fn to_tracing(
        file: *const c_char,
        line: c_int,
        function: *const c_char,
        err: c_int,
        fmt: *const c_char,
    ) {
        // SAFETY: alsa-lib passes NUL-terminated static strings (`__FILE__`, `__func__`, the
        // format) or, defensively, null.
        let text = |p: *const c_char| match p.is_null() {
            true => Cow::Borrowed(""),
            false => unsafe { CStr::from_ptr(p) }.to_string_lossy(),
        };
        let message = text(fmt);
        tracing::debug!(
            file = %text(file),
            line,
            function = %text(function),
            err,
            "alsa-lib: {}",
            message.trim_end()
        );
    }

    #[cfg(test)]
    mod tests {
        use std::sync::{Arc, Mutex};

        use super::*;

        /// Collects what the subscriber writes.
        #[derive(Clone, Default)]
        struct Written(Arc<Mutex<Vec<u8>>>);

        impl std::io::Write for Written {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        #[test]
        fn each_call_is_one_debug_line_and_null_is_empty_text() {
            let out = Written::default();
            let writer = out.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_writer(move || writer.clone())
                .with_max_level(tracing::Level::DEBUG)
                .with_ansi(false)
                .finish();
            tracing::subscriber::with_default(subscriber, || {
                // SAFETY: static NUL-terminated strings, and null, which the handler accepts.
                unsafe {
                    to_tracing(
                        c"pcm.c".as_ptr(),
                        2666,
                        c"open".as_ptr(),
                        -2,
                        c"Unknown PCM %s\n".as_ptr(),
                    );
                    to_tracing(std::ptr::null(), 0, std::ptr::null(), 0, std::ptr::null());
                }
            });
            let out = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
            let lines: Vec<&str> = out.lines().collect();
            assert_eq!(lines.len(), 2, "{out}");
            assert!(lines[0].contains("DEBUG"), "{out}");
            assert!(
                lines[0]
                    .contains("alsa-lib: Unknown PCM %s file=pcm.c line=2666 function=open err=-2"),
                "{out}"
            );
            assert!(
                lines[1].contains("alsa-lib:  file= line=0 function= err=0"),
                "{out}"
            );
        }
    }
}
