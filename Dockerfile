# syntax=docker/dockerfile:1
# One image for Amazon SageMaker training and serving: `docker run IMAGE train` / `docker run IMAGE serve`.
# Build (SageMaker hosts are x86_64):  docker build --platform linux/amd64 -t floorplan .
# CPU-only torch by default (no CUDA libraries, ~2 GB smaller); a GPU build picks a CUDA wheel index:
#   docker build --platform linux/amd64 --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu130 -t floorplan:gpu .
# Nothing is downloaded at run time: the bundled default model ships inside model_code/default_model/.
# Base: pinned to its Debian release (bookworm), since `python:3.11-slim` moves to each new Debian release.
# build_and_push.sh resolves the tag to its digest, builds from that digest and records it in the image
# (label org.opencontainers.image.base.digest); see docs/serving.md, "The Docker image".
FROM python:3.11-slim-bookworm AS wheel

# Stage: the project's wheel (`pip install .` in the image, without keeping a second copy of the sources).
COPY pyproject.toml README.md /src/
COPY model_code/ /src/model_code/
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels /src \
    && sha256sum /wheels/*.whl > /wheels.sha256

FROM python:3.11-slim-bookworm

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

LABEL com.amazonaws.sagemaker.capabilities.accept-bind-to-port=true \
      org.opencontainers.image.title="floorplan-vectorizer" \
      org.opencontainers.image.description="Raster floor plan -> walls, openings and rooms (SageMaker train + serve)"

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NO_ALBUMENTATIONS_UPDATE=1 \
    FLOORPLAN_CACHE_DIR=/opt/floorplan-cache \
    PATH=/opt/program/container:$PATH

WORKDIR /opt/program

# Layer: torch + torchvision at the versions pinned in requirements.txt, from TORCH_INDEX (the big layer,
# rebuilt only when requirements.txt or TORCH_INDEX change).
COPY requirements.txt ./
RUN grep -E '^(torch|torchvision)==' requirements.txt > /tmp/torch-requirements.txt \
    && pip install --no-cache-dir --index-url "$TORCH_INDEX" -r /tmp/torch-requirements.txt \
    && rm /tmp/torch-requirements.txt

# Layer: everything else from PyPI (torch is already satisfied by the local +cpu build).
RUN pip install --no-cache-dir -r requirements.txt

# Layer: our package with the bundled model (small, changes most often, so last), installed from its wheel
# without dependencies (requirements.txt pinned them above; `pip check` proves they satisfy pyproject's).
# This puts the `floorplan` command on PATH. The wheel's checksum is copied in so that the layer is rebuilt
# whenever the wheel changes (podman's layer cache does not look into bind mounts).
COPY --from=wheel /wheels.sha256 /tmp/
RUN --mount=type=bind,from=wheel,source=/wheels,target=/wheels \
    sha256sum --check --quiet /tmp/wheels.sha256 \
    && pip install --no-cache-dir --no-deps /wheels/*.whl \
    && rm /tmp/wheels.sha256 \
    && pip check \
    && floorplan --help >/dev/null
# Layer: the OCR models (model_code/text, docs/text.md): the PP-OCRv4 ONNX files inside rapidocr-onnxruntime's
# wheel, installed without its dependencies (they would add opencv-python beside opencv-python-headless; we run
# the files with our own ONNX Runtime sessions and never import the package). `pip check` ran above; here it
# may report only those unmet requirements (opencv-python, pyclipper), and the models must be found.
COPY requirements-text.txt ./
RUN pip install --no-cache-dir --no-deps -r requirements-text.txt \
    && python -c "from model_code.text.engine import model_directory; print(model_directory())" \
    && { pip check > /tmp/pip-check.txt || true; } \
    && ! grep -v -E '^rapidocr-onnxruntime [^ ]* requires (opencv-python|pyclipper), which is not installed\.$' /tmp/pip-check.txt \
    && rm /tmp/pip-check.txt
COPY --chmod=755 container/ ./container/
# The bundled model's ONNX export, cached in the image: serving workers load it without importing torch.
# Any user may run the image (`docker run --user 12345 ...`): the cached export is readable by all, and the
# cache folders are writable by all with the sticky bit (like /tmp), so a non-root server can cache the
# export of another model (a trained one in /opt/ml/model) instead of exporting it in every worker.
RUN floorplan export --model-dir default \
    && chmod -R a+rX "$FLOORPLAN_CACHE_DIR" \
    && find "$FLOORPLAN_CACHE_DIR" -type d -exec chmod 1777 {} +

# The base image's digest, filled in by build_and_push.sh (empty in a plain `docker build`).
ARG BASE_DIGEST=""
LABEL org.opencontainers.image.base.name="docker.io/library/python:3.11-slim-bookworm" \
      org.opencontainers.image.base.digest="${BASE_DIGEST}"

EXPOSE 8080
ENTRYPOINT ["/opt/program/container/entrypoint"]
CMD ["serve"]
