"""Errors raised by veil.

Every error is a :class:`VeilError`, and also subclasses the builtin it narrows,
so ``except ValueError`` keeps working for callers who do not know veil::

    VeilError
    ├── InputError(ValueError)            a file or array veil cannot use
    │   ├── ImageTooLargeError            over the pixel limit, refused before decoding
    │   ├── NoFaceError                   a photo that must show a face shows none
    │   ├── ModelMismatchError            embeddings from another model than a gallery's
    │   └── GalleryFileError              not a gallery file, or damaged or altered
    ├── GalleryKeyError(ValueError)       no key, a malformed key, or the wrong key
    ├── NotFittedError(ValueError, AttributeError)
    │                                     a calibrator or map used before fit()
    ├── OutputError(OSError)              refusing to write (would overwrite an input, ...)
    ├── UnknownModelError(KeyError)       a detector or model name that is not registered
    ├── ModelNotPulledError(FileNotFoundError)
    │                                     weights missing from the cache
    └── ModelIntegrityError(ValueError)   weights whose sha256 does not match their card

``str(error)`` is one line naming the file, the reason and, where there is one, the fix.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "GalleryFileError",
    "GalleryKeyError",
    "ImageTooLargeError",
    "InputError",
    "ModelIntegrityError",
    "ModelMismatchError",
    "ModelNotPulledError",
    "NoFaceError",
    "NotFittedError",
    "OutputError",
    "UnknownModelError",
    "VeilError",
    "VeilWarning",
]


class VeilError(Exception):
    """Root of every error veil raises on purpose."""


class VeilWarning(UserWarning):
    """Something ran, but probably not the way you meant."""


class InputError(VeilError, ValueError):
    """An input (file, bytes or array) that veil cannot use.

    Attributes:
        path: The file, or ``"<array>"`` / ``"<bytes>"`` when there was none.
        reason: What is wrong with it, in a few words.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ImageTooLargeError(InputError):
    """An image with more pixels than the configured limit; refused before decoding."""


class NoFaceError(InputError):
    """A photo in which a face was needed (to verify, enroll, identify) and none was found."""


class OutputError(VeilError, OSError):
    """An output veil refuses to write, or could not write.

    Attributes:
        path: The output path.
        reason: Why.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class UnknownModelError(VeilError, KeyError):
    """A model or detector name that veil does not know.

    Attributes:
        name: The name that was asked for.
        known: The names that exist.
    """

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.known = sorted(known)
        super().__init__(f"unknown {kind} {name!r}; choose one of: {', '.join(self.known)}")

    def __str__(self) -> str:
        # KeyError.__str__ would wrap the message in quotes.
        return str(self.args[0])


class ModelNotPulledError(VeilError, FileNotFoundError):
    """A model whose weights are not in the cache yet.

    Attributes:
        name: The model card name.
        path: Where the weights were expected.
    """

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = path
        super().__init__(f"model {name!r} is not pulled ({path} is missing); run: veil models pull {name}")

    def __str__(self) -> str:
        return str(self.args[0])


class ModelIntegrityError(VeilError, ValueError):
    """Weights whose sha256 differs from the one on their model card.

    Attributes:
        name: The model card name.
        path: The file that failed the check.
    """

    def __init__(self, name: str, path: Path, expected: str, actual: str) -> None:
        self.name = name
        self.path = path
        super().__init__(
            f"{path}: sha256 {actual[:12]}... does not match model {name!r} ({expected[:12]}...); "
            f"run: veil models pull {name} --force"
        )


class ModelMismatchError(InputError):
    """Embeddings from a model other than the one a gallery holds.

    Attributes:
        expected: The gallery's model.
        actual: The model the embeddings were said to come from.
    """

    def __init__(self, expected: str, actual: str) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(
            "<array>",
            f"embeddings from model {actual!r} cannot go in a gallery of {expected!r} embeddings "
            "(use one gallery per model)",
        )


class GalleryFileError(InputError):
    """A file that is not a veil gallery, is from a newer veil, or was damaged or altered."""


class GalleryKeyError(VeilError, ValueError):
    """No key to encrypt or decrypt a gallery with, a malformed key, or the wrong key.

    Attributes:
        path: The gallery file, or the key file when there is no gallery yet.
        reason: What is wrong, with the fix.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class NotFittedError(VeilError, ValueError, AttributeError):
    """A calibrator used before ``fit()``; like scikit-learn's error of the same name."""
