# syntax=docker/dockerfile:1
# One image for Amazon SageMaker training and serving: `docker run IMAGE train` / `docker run IMAGE serve`.
# Build (SageMaker hosts are x86_64):  docker build --platform linux/amd64 -t floorplan .
# CPU-only torch by default (no CUDA libraries, ~2 GB smaller); a GPU build picks a CUDA wheel index:
#   docker build --platform linux/amd64 --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu130 -t floorplan:gpu .
# Nothing is downloaded at run time: the bundled default model ships inside model_code/default_model/.
FROM python:3.11-slim

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

LABEL com.amazonaws.sagemaker.capabilities.accept-bind-to-port=true \
      org.opencontainers.image.title="floorplan-vectorizer" \
      org.opencontainers.image.description="Raster floor plan -> walls, openings and rooms (SageMaker train + serve)"

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/opt/program \
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

# Layer: our code and the bundled model (small, changes most often, so last).
COPY model_code/ ./model_code/
COPY --chmod=755 container/ ./container/
# The bundled model's ONNX export, cached in the image: serving workers load it without importing torch.
RUN python -m model_code export --model-dir default

EXPOSE 8080
ENTRYPOINT ["/opt/program/container/entrypoint"]
CMD ["serve"]
