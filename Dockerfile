# The toolkit's container image: the two wheels (toolkit and its native codec) in a venv, run as a non-root user.
# Build it with scripts/build-image, which builds the wheels and the wheelhouse this file copies; see
# docs/deploy/kubernetes.md. BASE is any Debian-based image with Python 3.11+ and its venv module.
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}
COPY .cache/image/wheelhouse/ /tmp/wheelhouse/
RUN python3 -m venv /opt/sptk \
 && /opt/sptk/bin/pip install --no-cache-dir --no-index --find-links /tmp/wheelhouse snowplow-kafka-toolkit sptk-native \
 && rm -rf /tmp/wheelhouse \
 && /opt/sptk/bin/sptk --version
ENV PATH=/opt/sptk/bin:$PATH
# any non-root uid works; 65532 is the conventional "nonroot"
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["sptk"]
CMD ["--help"]
