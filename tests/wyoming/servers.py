#!/usr/bin/env python3
"""Speech servers for voicebox's remote-speech tests, on real engines.

  servers.py stt    --log FILE [--stream] [--stall]   Wyoming STT: pocketsphinx
  servers.py tts    --log FILE [--pace] [--stall]     Wyoming TTS: espeak-ng
  servers.py openai --log FILE [--token T]            OpenAI-compatible /v1/audio/speech: espeak-ng

The Wyoming ones are built with the official `wyoming` package (AsyncEventHandler and its event
classes), run by tests/wyoming/venv's python. Each listens on a free loopback port and prints
"port N" once it does. Every event or request received is appended to FILE as one JSON line
with its arrival time, so a test can see what arrived, in which order and when; a connection
closed by the client is logged as {"type": "disconnected"}, and TTS logs each audio-stop it sent.

STT hears as a streaming recogniser does: pocketsphinx starts at audio-start and gets each chunk
as it arrives, so it decodes while the user speaks; only the tail is left after audio-stop.
--stream answers with transcript-start/-chunk/-stop (protocol 1.7) before the plain transcript;
--stall hears nothing and answers nothing after audio-stop. TTS sends espeak-ng's audio in 1024-sample chunks;
--pace sends them in real time, --stall stops after the first chunk.
The OpenAI-compatible server (`openai`) speaks /v1/audio/speech; an upload to a
/v1/audio/transcriptions path is logged and, with --stall, never answered: the server logs
when the client hangs up.
"""

import argparse
import asyncio
import http.server
import io
import json
import socket
import subprocess
import sys
import threading
import time
import wave

POCKETSPHINX = [
    "pocketsphinx_continuous", "-infile", "/dev/stdin",
    "-hmm", "/usr/share/pocketsphinx/model/en-us/en-us",
    "-lm", "/usr/share/pocketsphinx/model/en-us/en-us.lm.bin",
    "-dict", "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict",
    "-logfn", "/dev/null",
]
LOCK = threading.Lock()


def log(path, entry):
    entry["t"] = time.time()
    with LOCK, open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry, ensure_ascii=False) + "\n")


def espeak(text, voice):
    """espeak-ng's WAV for `text` in `voice`: (rate, width, channels, frames)."""
    out = subprocess.run(["espeak-ng", "-v", voice, "--stdout", "--stdin"], input=text.encode(),
                         capture_output=True, check=True).stdout
    with wave.open(io.BytesIO(out)) as w:
        # espeak-ng writes placeholder lengths to a pipe: read what is there.
        return w.getframerate(), w.getsampwidth(), w.getnchannels(), w.readframes(1 << 30)


def wyoming_server(args):
    from wyoming.asr import Transcript, TranscriptChunk, TranscriptStart, TranscriptStop
    from wyoming.audio import AudioChunk, AudioStart, AudioStop
    from wyoming.event import Event
    from wyoming.info import AsrModel, AsrProgram, Attribution, Info, TtsProgram, TtsVoice
    from wyoming.server import AsyncEventHandler

    by = Attribution(name="test", url="https://example.invalid")
    if args.kind == "stt":
        info = Info(asr=[AsrProgram(
            name="pocketsphinx", attribution=by, installed=True, description="pocketsphinx",
            version="0.8", supports_transcript_streaming=args.stream,
            models=[AsrModel(name="en-us", attribution=by, installed=True, description="en-us",
                             version="0.8", languages=["en"])])])
    else:
        info = Info(tts=[TtsProgram(
            name="espeak-ng", attribution=by, installed=True, description="espeak-ng",
            version="1.51", voices=[TtsVoice(name=v, attribution=by, installed=True,
                                             description=v, version="1.51", languages=[l])
                                    for v, l in [("en-us+klatt", "en"), ("cmn-latn-pinyin", "zh")]])])

    class Handler(AsyncEventHandler):
        def __init__(self, *a):
            super().__init__(*a)
            self.recogniser = None

        async def handle_event(self, event: Event) -> bool:
            log(args.log, {"type": event.type, "data": event.data,
                           "bytes": len(event.payload or b"")})
            if event.type == "describe":
                await self.write_event(info.event())
            elif args.kind == "stt":
                await self.hear(event)
            elif event.type == "synthesize":
                await self.speak(event)
            return True

        async def hear(self, event):
            if AudioStart.is_type(event.type):
                start = AudioStart.from_event(event)
                if (start.rate, start.width, start.channels) != (16000, 2, 1):
                    await self.write_event(Event("error", {"text": "want 16 kHz 16-bit mono"}))
                    return
                if not args.stall:
                    self.recogniser = await asyncio.create_subprocess_exec(
                        *POCKETSPHINX, stdin=asyncio.subprocess.PIPE,
                        stdout=asyncio.subprocess.PIPE)
            elif AudioChunk.is_type(event.type) and self.recogniser:
                self.recogniser.stdin.write(AudioChunk.from_event(event).audio)
                await self.recogniser.stdin.drain()
            elif AudioStop.is_type(event.type) and args.stall:
                await self.until_hung_up()
            elif AudioStop.is_type(event.type) and self.recogniser:
                self.recogniser.stdin.close()
                text = (await self.recogniser.stdout.read()).decode().strip()
                await self.recogniser.wait()
                log(args.log, {"type": "decoded", "text": text})
                if args.stream:
                    await self.write_event(TranscriptStart(language="en").event())
                    for word in text.split():
                        await self.write_event(TranscriptChunk(text=word + " ").event())
                    await self.write_event(TranscriptStop().event())
                await self.write_event(Transcript(text=text, language="en").event())

        async def speak(self, event):
            voice = (event.data.get("voice") or {}).get("name") or "en-us+klatt"
            rate, width, channels, frames = espeak(event.data["text"], voice)
            fmt = {"rate": rate, "width": width, "channels": channels}
            await self.write_event(AudioStart(**fmt).event())
            step = 1024 * width * channels
            for i in range(0, len(frames), step):
                await self.write_event(AudioChunk(audio=frames[i:i + step], **fmt).event())
                if args.stall:
                    return await self.until_hung_up()
                if args.pace:
                    await asyncio.sleep(1024 / rate)
                    if self.reader.at_eof():
                        return
            await self.write_event(AudioStop().event())
            log(args.log, {"type": "audio-stop-sent"})

        async def until_hung_up(self):
            # Stalled: no answer, but the client hanging up is still noticed (and logged).
            while not self.reader.at_eof():
                await asyncio.sleep(0.02)

        async def disconnect(self):
            log(args.log, {"type": "disconnected"})

    async def main():
        server = await asyncio.start_server(lambda r, w: Handler(r, w).run(), "127.0.0.1", 0)
        print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def openai_server(args):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path.endswith("/transcriptions"):
                return self.transcription(body)
            request = json.loads(body)
            auth = self.headers.get("Authorization")
            log(args.log, {"type": "request", "path": self.path, "json": request,
                           "authorization": auth})
            if args.token and auth != f"Bearer {args.token}":
                return self.reply(401, "application/json", b'{"error":"bad token"}')
            rate, width, channels, frames = espeak(request["input"], "en-us+klatt")
            if request.get("response_format") == "pcm":
                # OpenAI's pcm: 24 kHz, 16-bit, mono, little-endian, no header.
                pcm = subprocess.run(
                    ["sox", "-t", "raw", "-r", str(rate), "-e", "signed-integer", "-b",
                     str(8 * width), "-c", str(channels), "-", "-t", "raw", "-r", "24000",
                     "-e", "signed-integer", "-b", "16", "-c", "1", "-"],
                    input=frames, capture_output=True, check=True).stdout
                return self.reply(200, "audio/pcm", pcm)
            out = io.BytesIO()
            with wave.open(out, "wb") as w:
                w.setframerate(rate)
                w.setsampwidth(width)
                w.setnchannels(channels)
                w.writeframes(frames)
            self.reply(200, "audio/wav", out.getvalue())

        def transcription(self, body):
            # An upload: logged; with --stall never answered, and the client hanging up is
            # noticed (the socket reads EOF) and logged with its time.
            log(args.log, {"type": "upload", "path": self.path, "bytes": len(body)})
            if not args.stall:
                return self.reply(501, "application/json", b'{"error":"--stall only"}')
            while self.connection.recv(1, socket.MSG_PEEK):
                time.sleep(0.02)
            log(args.log, {"type": "disconnected"})
            self.close_connection = True

        def reply(self, status, content_type, body):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"port {server.server_address[1]}", flush=True)
    server.serve_forever()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=["stt", "tts", "openai"])
    p.add_argument("--log", required=True)
    p.add_argument("--stream", action="store_true")
    p.add_argument("--stall", action="store_true")
    p.add_argument("--pace", action="store_true")
    p.add_argument("--token")
    args = p.parse_args()
    if args.kind == "openai":
        openai_server(args)
    else:
        wyoming_server(args)


if __name__ == "__main__":
    sys.exit(main())
