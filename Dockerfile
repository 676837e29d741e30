# wfa: one image for every role (api, worker, scheduler, migrate). Slim, non-root.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 wfa
COPY --from=build /install /usr/local
USER wfa
WORKDIR /home/wfa
ENV WFA_HOST=0.0.0.0 \
    WFA_PORT=8000 \
    WFA_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health').status != 200)"
ENTRYPOINT ["wfa"]
CMD ["serve"]
