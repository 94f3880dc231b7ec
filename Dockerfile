# Build stage: the same path as the runtime image, so the compiled-in static/ path matches.
FROM rust:1-bookworm AS build
WORKDIR /app
COPY . .
RUN cargo build --release --locked

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/target/release/applinks /usr/local/bin/applinks
COPY static /app/static
ENV APPLINKS_BIND=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["applinks"]
CMD ["serve"]
