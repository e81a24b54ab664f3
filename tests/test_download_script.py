"""data_scripts/download_speech_commands.py, offline: tiny archives in tmp_path and a local HTTP server only."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import re
import socket
import subprocess
import sys
import tarfile
import threading
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "data_scripts" / "download_speech_commands.py"
CLIPS = ["yes/a1b2c3d4_nohash_0.wav", "yes/a1b2c3d4_nohash_1.wav", "no/e5f6a7b8_nohash_0.wav"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def write_wav(path: Path, n_samples: int = 1600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(os.urandom(2 * n_samples))  # incompressible, so the archive has some size


def make_archive(tmp_path: Path, name: str = "sc.tar.gz") -> Path:
    """A tar.gz in Speech Commands layout, members named `./word/clip.wav` like the official one."""
    src = tmp_path / "src"
    for clip in CLIPS:
        write_wav(src / clip)
    write_wav(src / "_background_noise_" / "white_noise.wav", 8000)
    (src / "validation_list.txt").write_text(CLIPS[1] + "\n")
    (src / "testing_list.txt").write_text(CLIPS[2] + "\n")
    path = tmp_path / name
    with tarfile.open(path, "w:gz") as tar:
        for p in sorted(src.rglob("*")):
            tar.add(p, arcname="./" + p.relative_to(src).as_posix(), recursive=False)
    return path


def assert_layout(out: Path, src: Path) -> None:
    for rel in CLIPS + ["_background_noise_/white_noise.wav", "validation_list.txt", "testing_list.txt"]:
        assert (out / rel).read_bytes() == (src / rel).read_bytes(), rel
    with wave.open(str(out / CLIPS[0])) as w:
        assert (w.getframerate(), w.getnframes()) == (16000, 1600)


def test_help(tmp_path):
    proc = run("--help", cwd=tmp_path)
    assert proc.returncode == 0
    assert "--archive" in proc.stdout and "--test-set" in proc.stdout


def test_archive_extracts_layout_to_default_folder(tmp_path):
    archive = make_archive(tmp_path)
    proc = run("--archive", str(archive), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "data" / "speech_commands"
    assert_layout(out, tmp_path / "src")
    assert archive.is_file()  # a hand-placed archive is never deleted
    assert "2 word folders, 3 clips" in proc.stdout
    assert "validation_list.txt present" in proc.stdout and "testing_list.txt present" in proc.stdout


def test_test_set_default_folder(tmp_path):
    proc = run("--archive", str(make_archive(tmp_path)), "--test-set", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "data" / "speech_commands_test_set" / CLIPS[0]).is_file()


@pytest.mark.parametrize("kind", ["garbage", "truncated", "bad crc"])
def test_corrupt_archive_fails_in_one_line(tmp_path, kind):
    bad = tmp_path / "bad.tar.gz"
    if kind == "garbage":
        bad.write_bytes(os.urandom(4096))
    else:
        good = bytearray(make_archive(tmp_path).read_bytes())
        if kind == "truncated":
            del good[len(good) // 2 :]
        else:  # every tar member intact, only the gzip trailer's CRC-32 wrong
            good[-8] ^= 0xFF
        bad.write_bytes(good)
    out = tmp_path / "out"
    line = one_error_line(run("--archive", str(bad), "--out", str(out), cwd=tmp_path))
    assert "corrupt or truncated" in line
    assert list(out.iterdir()) == []  # checked in full before anything is written


@pytest.mark.parametrize(
    "name, kind, link",
    [
        ("../evil", tarfile.REGTYPE, ""),
        ("yes/../../evil", tarfile.REGTYPE, ""),
        ("/tmp/kws_download_test_evil", tarfile.REGTYPE, ""),
        ("yes/link", tarfile.SYMTYPE, "../../evil"),
    ],
)
def test_member_outside_output_folder_is_refused(tmp_path, name, kind, link):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        ok = tarfile.TarInfo("./yes/fine.txt")
        ok.size = 2
        tar.addfile(ok, io.BytesIO(b"ok"))
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, link
        payload = b"pwned" if kind == tarfile.REGTYPE else b""
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    out = tmp_path / "a" / "out"
    line = one_error_line(run("--archive", str(archive), "--out", str(out), cwd=tmp_path))
    assert "refused" in line and name in line
    assert not (tmp_path / "a" / "evil").exists() and not (tmp_path / "evil").exists()
    assert not Path("/tmp/kws_download_test_evil").exists()
    assert list(out.iterdir()) == []


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    line = one_error_line(run("--archive", str(make_archive(tmp_path)), "--out", str(blocker / "out"), cwd=tmp_path))
    assert "cannot write to output folder" in line


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_network_says_how_to_place_archive_by_hand(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/speech_commands_v0.02.tar.gz"
    line = one_error_line(run("--url", url, "--out", str(tmp_path / "out"), cwd=tmp_path))
    assert line.startswith("error: cannot reach the server")
    assert f"download {url} on a machine with internet access" in line
    assert "--archive PATH" in line and str(tmp_path / "out") in line


class RangeHandler(BaseHTTPRequestHandler):
    """Serves `server.payload` at any path, honouring `Range: bytes=N-`; `server.cut` truncates one response."""

    def do_GET(self):
        data, rng = self.server.payload, self.headers.get("Range")
        self.server.ranges.append(rng)
        start = int(re.fullmatch(r"bytes=(\d+)-", rng)[1]) if rng else 0
        if start >= len(data):
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = data[start:]
        if rng:
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.server.cut:
            body, self.server.cut = body[: self.server.cut], None  # announce everything, send part, hang up
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    httpd.payload, httpd.ranges, httpd.cut = make_archive(tmp_path).read_bytes(), [], None
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def url_of(httpd, name="sc.tar.gz") -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}/{name}"


def test_download_resumes_existing_part(tmp_path, server):
    out = tmp_path / "dl" / "speech_commands"
    out.parent.mkdir()
    half = len(server.payload) // 2
    (out.parent / "sc.tar.gz.part").write_bytes(server.payload[:half])
    proc = run("--url", url_of(server), "--out", str(out), "--keep-archive", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert server.ranges == [f"bytes={half}-"]
    assert (out.parent / "sc.tar.gz").read_bytes() == server.payload
    assert not (out.parent / "sc.tar.gz.part").exists()
    assert_layout(out, tmp_path / "src")


def test_broken_download_keeps_part_and_next_run_resumes(tmp_path, server):
    out = tmp_path / "dl" / "speech_commands"
    server.cut = 1000
    line = one_error_line(run("--url", url_of(server), "--out", str(out), cwd=tmp_path))
    assert f"stopped at 1000 of {len(server.payload)} bytes" in line and "resume" in line
    assert (out.parent / "sc.tar.gz.part").read_bytes() == server.payload[:1000]
    proc = run("--url", url_of(server), "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert server.ranges == [None, "bytes=1000-"]
    assert not (out.parent / "sc.tar.gz").exists() and not (out.parent / "sc.tar.gz.part").exists()  # no --keep-archive
    assert_layout(out, tmp_path / "src")


def test_part_longer_than_file_starts_over(tmp_path, server):
    out = tmp_path / "dl" / "speech_commands"
    out.parent.mkdir()
    (out.parent / "sc.tar.gz.part").write_bytes(server.payload + b"junk")
    proc = run("--url", url_of(server), "--out", str(out), "--keep-archive", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert server.ranges == [f"bytes={len(server.payload) + 4}-", None]
    assert (out.parent / "sc.tar.gz").read_bytes() == server.payload


def load_script():
    spec = importlib.util.spec_from_file_location("download_speech_commands", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_official_checksum_is_enforced(tmp_path, server, monkeypatch, capsys):
    script = load_script()
    out = tmp_path / "dl" / "speech_commands"
    args = ["--url", url_of(server, "official.tar.gz"), "--out", str(out), "--keep-archive"]
    monkeypatch.setattr(script, "OFFICIAL", {"official.tar.gz": (len(server.payload), "0" * 64)})
    assert script.main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sha256" in err[0]
    assert not (out.parent / "official.tar.gz.part").exists() and not (out.parent / "official.tar.gz").exists()
    sha = hashlib.sha256(server.payload).hexdigest()
    monkeypatch.setattr(script, "OFFICIAL", {"official.tar.gz": (len(server.payload), sha)})
    assert script.main(args) == 0
    assert (out.parent / "official.tar.gz").read_bytes() == server.payload
