"""The 12 Speech Commands classes and the folder -> label rule."""

SILENCE = "_silence_"
UNKNOWN = "_unknown_"
CORE_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
LABELS = (SILENCE, UNKNOWN) + CORE_WORDS
BACKGROUND_NOISE_DIR = "_background_noise_"


def is_keyword(label: str) -> bool:
    """Labels that fire detections: every class but `_silence_` and `_unknown_`."""
    return label not in (SILENCE, UNKNOWN)


def keywords(labels) -> tuple[str, ...]:
    """The keywords of a label list, in its order."""
    return tuple(filter(is_keyword, labels))


def label_for_folder(folder: str, words=CORE_WORDS) -> str:
    """Label of a clip in `folder`: a target word is itself, `_silence_` stays, every other word is `_unknown_`."""
    if folder in words or folder == SILENCE:
        return folder
    return UNKNOWN
