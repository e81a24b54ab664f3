"""Download the Google Speech Commands v0.02 data set (Warden 2018, CC BY 4.0) and extract it.

The archive is fetched into `<archive>.part` next to the output folder; a rerun resumes a partial file with an
HTTP Range request. Only when the file's size matches the server's Content-Length, and, for the two official
archives, the size and SHA-256 in OFFICIAL below, is it renamed to its final name. `--archive FILE` skips the
download and extracts a tarball placed by hand. Before anything is written, the archive is listed in full and
read to its end, which checks every compressed block and the gzip CRC, and any member that would land outside
the output folder (absolute path, `..`, a link pointing out) is refused.

Every failure (no network, corrupt or truncated archive, size or checksum mismatch, unwritable folder) is one
line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import posixpath
import re
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zlib
from pathlib import Path, PurePosixPath

from tqdm import tqdm

TRAIN_URL = "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz"
TEST_URL = "http://download.tensorflow.org/data/speech_commands_test_set_v0.02.tar.gz"
# (size in bytes, sha256) of the official archives, checked for any URL ending in that file name. Sources: the
# sha256 of the training archive is the one torchaudio's SPEECHCOMMANDS checks; both sizes are the ones ESPnet's
# egs2/speechcommands recipe checks; the test-set sha256 is checked, with that same size, by independent projects.
OFFICIAL = {
    "speech_commands_v0.02.tar.gz": (2428923189, "af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58"),
    "speech_commands_test_set_v0.02.tar.gz": (
        112563277,
        "cc2a00c1147c2254e9be3fa0f779d8c17421dc349b86366567a8edfa9acd51df",
    ),
}
TIMEOUT_S = 30
CHUNK = 1 << 20
BACKGROUND_NOISE_DIR = "_background_noise_"


class Failure(Exception):
    """A failure the user can act on: printed as one line, exit status 2."""


def _by_hand(url: str, out: Path) -> str:
    return (
        f"download {url} on a machine with internet access, copy it here and run: "
        f"python {sys.argv[0]} --archive PATH --out {out}"
    )


def _reason(e: BaseException) -> str:
    e = getattr(e, "reason", None) or e  # URLError wraps the socket error
    return " ".join(str(getattr(e, "strerror", None) or e).split()) or type(e).__name__  # one line


def _bar(desc: str, total: int | None, initial: int = 0, unit: str = "B") -> tqdm:
    """A progress bar on stderr, shown only on a terminal."""
    scale = unit == "B"
    return tqdm(total=total, initial=initial, desc=desc, unit=unit, unit_scale=scale, unit_divisor=1024, disable=None)


def _open(url: str, have: int, out: Path):
    """The response for `url`, asking for the bytes from `have` on when a partial file exists."""
    headers = {"User-Agent": "kws-download-speech-commands"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # the partial file does not fit the server's file: start over
            return None
        raise Failure(f"{url}: HTTP {e.code} {e.reason}; {_by_hand(url, out)}") from None
    except ValueError as e:
        raise Failure(f"{url}: not a usable URL ({e})") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        raise Failure(f"cannot reach the server ({_reason(e)}); {_by_hand(url, out)}") from None


def _fetch(url: str, part: Path, out: Path) -> int | None:
    """Download `url` into `part`, resuming what is there; return the full size the server announced, if any."""
    have = part.stat().st_size if part.is_file() else 0
    resp = _open(url, have, out)
    if resp is None:
        part.unlink()
        have, resp = 0, _open(url, 0, out)
    with resp:
        length = resp.headers.get("Content-Length")
        total = int(length) if length is not None else None
        resumed = re.fullmatch(r"bytes (\d+)-\d+/(\d+)", resp.headers.get("Content-Range", "").strip())
        if resp.status == 206 and resumed and int(resumed[1]) == have:
            total = int(resumed[2])
        else:  # the server sent the whole file
            have = 0
        try:
            f = open(part, "ab" if have else "wb")
        except OSError as e:
            raise Failure(f"cannot write {part}: {_reason(e)}") from None
        with f, _bar(part.name, total, have) as bar:
            while True:
                try:
                    chunk = resp.read(CHUNK)
                except (OSError, http.client.HTTPException) as e:
                    raise Failure(
                        f"download broke off after {bar.n} bytes ({_reason(e)}); run again to resume {part}, "
                        f"or {_by_hand(url, out)}"
                    ) from None
                if not chunk:
                    return total
                try:
                    f.write(chunk)
                except OSError as e:
                    raise Failure(f"cannot write {part}: {_reason(e)}") from None
                bar.update(len(chunk))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f, _bar(f"sha256 {path.name}", path.stat().st_size) as bar:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


def download(url: str, archive: Path, out: Path) -> None:
    """Download `url` to `archive` through `<archive>.part`, renamed only once its size (and hash) check out."""
    part = archive.with_name(archive.name + ".part")
    official = OFFICIAL.get(archive.name)
    have = part.stat().st_size if part.is_file() else 0
    total = official[0] if official and have == official[0] else _fetch(url, part, out)
    size = part.stat().st_size
    if total is not None and size < total:
        raise Failure(
            f"download stopped at {size} of {total} bytes; run again to resume {part}, or {_by_hand(url, out)}"
        )
    if (total is not None and size != total) or (official and (size, _sha256(part)) != official):
        part.unlink()
        what = "the official archive's size and sha256" if official else f"the announced {total} bytes"
        raise Failure(f"{url}: the {size} bytes received do not match {what}; deleted {part}, run again")
    part.replace(archive)


def _escapes(member: tarfile.TarInfo) -> bool:
    """Whether a member would be written, or would link, outside the folder it is extracted into."""
    name = PurePosixPath(member.name)
    if name.is_absolute() or ".." in name.parts:
        return True
    if member.issym():
        target = posixpath.normpath(posixpath.join(posixpath.dirname(member.name), member.linkname))
    elif member.islnk():
        target = posixpath.normpath(member.linkname)
    else:
        return False
    return posixpath.isabs(target) or target == ".." or target.startswith("../")


def extract(archive: Path, out: Path) -> None:
    """List `archive` in full (so a corrupt or truncated file fails before anything is written), then extract it."""
    kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    try:
        f = open(archive, "rb")
    except OSError as e:
        raise Failure(f"cannot read {archive}: {_reason(e)}") from None
    with f:
        try:
            with _bar(f"checking {archive.name}", archive.stat().st_size) as bar:
                tar = tarfile.open(fileobj=f, mode="r:*")
                for _ in tar:
                    bar.update(f.tell() - bar.n)
                while tar.fileobj.read(CHUNK):  # past the end-of-archive marker, to the gzip CRC and length
                    pass
                bar.update(f.tell() - bar.n)
            members = tar.getmembers()
        except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
            raise Failure(
                f"{archive}: corrupt or truncated archive ({_reason(e)}); delete it and download it again"
            ) from None
        bad = next((m.name for m in members if _escapes(m)), None)
        if bad is not None:
            raise Failure(f"{archive}: refused, member {bad!r} would be written outside {out}")
        with tar, _bar(f"extracting into {out}", len(members), unit="file") as bar:
            for member in members:
                try:
                    tar.extract(member, out, **kwargs)
                except (tarfile.TarError, EOFError, zlib.error) as e:
                    raise Failure(f"{archive}: cannot extract {member.name!r} ({_reason(e)})") from None
                except OSError as e:
                    raise Failure(f"cannot write {out / member.name}: {_reason(e)}") from None
                bar.update()


def summary(out: Path) -> str:
    folders = [p for p in out.iterdir() if p.is_dir() and p.name != BACKGROUND_NOISE_DIR]
    clips = sum(1 for d in folders for p in d.iterdir() if p.suffix.lower() == ".wav")
    lists = ", ".join(
        f"{name} {'present' if (out / name).is_file() else 'absent'}"
        for name in ("validation_list.txt", "testing_list.txt")
    )
    noise = f", {BACKGROUND_NOISE_DIR}/ present" if (out / BACKGROUND_NOISE_DIR).is_dir() else ""
    return f"{out}: {len(folders)} word folders, {clips} clips{noise}; {lists}"


def _writable_folder(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out).close()
    except OSError as e:
        raise Failure(f"cannot write to output folder {out}: {_reason(e)}") from None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Download Google Speech Commands v0.02 and extract it into a folder in its standard layout "
        "(word/speaker_nohash_n.wav, _background_noise_/, validation_list.txt, testing_list.txt).",
        epilog="Without internet access: download the archive on another machine (URL below), copy it over and run "
        "this script with --archive PATH. A download that broke off resumes when the script is run again. "
        f"Official archives: {TRAIN_URL} (2.3 GiB) and {TEST_URL} (107 MiB). Exit status 2 on any failure.",
    )
    parser.add_argument("--out", type=Path, help="output folder (default: data/speech_commands, "
                        "or data/speech_commands_test_set with --test-set)")
    parser.add_argument("--url", help="archive to download (default: the official archive named below)")
    parser.add_argument("--archive", type=Path, metavar="FILE",
                        help="extract this tarball, placed by hand, instead of downloading (it is never deleted)")
    parser.add_argument("--test-set", action="store_true",
                        help="the official test set instead: folders _silence_/, _unknown_/ and the ten core words")
    parser.add_argument("--keep-archive", action="store_true",
                        help="keep the downloaded archive (saved next to the output folder) after extraction")
    args = parser.parse_args(argv)
    if args.archive is not None and args.url is not None:
        parser.error("give --archive or --url, not both")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = args.out or Path("data/speech_commands_test_set" if args.test_set else "data/speech_commands")
    url = args.url or (TEST_URL if args.test_set else TRAIN_URL)
    try:
        if args.archive is not None and not args.archive.is_file():
            raise Failure(f"{args.archive}: no such file")
        _writable_folder(out)
        if args.archive is not None:
            extract(args.archive, out)
        else:
            name = posixpath.basename(urllib.parse.urlsplit(url).path)
            if not name:
                raise Failure(f"{url}: the URL does not end in a file name")
            archive = out.parent / name
            if not archive.is_file():
                download(url, archive, out)
            extract(archive, out)
            if not args.keep_archive:
                archive.unlink()
        print(summary(out))
    except Failure as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; run again to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
