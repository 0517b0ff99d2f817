#!/usr/bin/env bash
# Build the SageMaker image for linux/amd64 and push it to Amazon ECR, tagged with the git SHA and `latest`.
#
# Usage: ./build_and_push.sh [--name NAME] [--region REGION] [--account ACCOUNT_ID] [--torch-index URL]
#                            [--base-digest sha256:HEX]
#   --name         ECR repository / image name (default: floorplan-vectorizer)
#   --region       AWS region (default: $AWS_REGION, $AWS_DEFAULT_REGION, then `aws configure get region`)
#   --account      AWS account id (default: `aws sts get-caller-identity`)
#   --torch-index  pip index for torch (default: the CPU-only wheels; see the Dockerfile for a GPU build)
#   --base-digest  digest of the Dockerfile's base image tag to build from (default: the tag's digest now,
#                  from `docker buildx imagetools inspect`); the image records it in a label
# Environment: DRY_RUN=1 prints every command that builds, logs in, creates or pushes instead of running
# it (the read-only look-ups of region, account, repository and base digest still run, so the printed
# commands are exact).
set -euo pipefail

name="floorplan-vectorizer"
region=""
account=""
torch_index="https://download.pytorch.org/whl/cpu"
base_digest=""
dry_run="${DRY_RUN:-0}"

usage() {
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
}

die() {
    echo "build_and_push: $*" >&2
    exit 1
}

while [ "$#" -gt 0 ]; do
    case "$1" in
        --name) name="${2:?--name needs a value}"; shift 2 ;;
        --region) region="${2:?--region needs a value}"; shift 2 ;;
        --account) account="${2:?--account needs a value}"; shift 2 ;;
        --torch-index) torch_index="${2:?--torch-index needs a value}"; shift 2 ;;
        --base-digest) base_digest="${2:?--base-digest needs a value}"; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

# Print a command (DRY_RUN=1) or run it.
run() {
    if [ "$dry_run" = "1" ]; then
        printf '%q ' "$@" | sed 's/ $//'
        echo
    else
        "$@"
    fi
}

if [ -n "$base_digest" ] && ! [[ "$base_digest" =~ ^sha256:[0-9a-f]{64}$ ]]; then
    die "--base-digest must be sha256: and 64 hex digits, got '$base_digest'"
fi

command -v aws >/dev/null || die "the AWS CLI (aws) is not on PATH"
command -v docker >/dev/null || die "docker is not on PATH"
cd "$(dirname "$0")"

if [ -z "$region" ]; then
    region="${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region || true)}}"
fi
[ -n "$region" ] || die "no AWS region: pass --region or run 'aws configure'"
if [ -z "$account" ]; then
    account="$(aws sts get-caller-identity --query Account --output text)" \
        || die "cannot determine the AWS account: pass --account or configure credentials"
fi
[[ "$account" =~ ^[0-9]{12}$ ]] || die "AWS account id must be 12 digits, got '$account'"
[[ "$name" =~ ^[a-z0-9][a-z0-9._/-]*$ ]] || die "invalid repository name '$name' (lowercase, digits, . _ - /)"

# The base image: the Dockerfile's tag (e.g. python:3.11-slim-bookworm) resolved to a digest, so the build
# uses exactly that image (a named build context replaces the FROM reference; BuildKit) and the image
# records it (label org.opencontainers.image.base.digest).
base="$(awk 'toupper($1) == "FROM" { print $2; exit }' Dockerfile)"
if [ -z "$base_digest" ]; then
    base_digest="$(docker buildx imagetools inspect "$base" | awk '$1 == "Digest:" { print $2; exit }')" \
        || die "cannot resolve the base image $base: pass --base-digest"
fi
[[ "$base_digest" =~ ^sha256:[0-9a-f]{64}$ ]] || die "no digest for the base image $base: pass --base-digest"

sha="$(git rev-parse --short=12 HEAD 2>/dev/null || echo nogit)"
if [ "$sha" != "nogit" ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    sha="${sha}-dirty"
fi
registry="${account}.dkr.ecr.${region}.amazonaws.com"
image="${registry}/${name}"

if ! aws ecr describe-repositories --region "$region" --repository-names "$name" >/dev/null 2>&1; then
    run aws ecr create-repository --region "$region" --repository-name "$name" \
        --image-scanning-configuration scanOnPush=true
fi

if [ "$dry_run" = "1" ]; then
    echo "aws ecr get-login-password --region $region | docker login --username AWS --password-stdin $registry"
else
    aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "$registry"
fi

run docker build --platform linux/amd64 --build-arg "TORCH_INDEX=${torch_index}" \
    --build-context "${base}=docker-image://${base}@${base_digest}" --build-arg "BASE_DIGEST=${base_digest}" \
    --tag "${image}:${sha}" --tag "${image}:latest" .
run docker push "${image}:${sha}"
run docker push "${image}:latest"
echo "build_and_push: ${image}:${sha} (also :latest), base ${base}@${base_digest}" >&2
