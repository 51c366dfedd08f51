# A small static image that runs shellac as a non-root user.
#   docker build -t shellac .
#   docker run --rm -p 8080:8080 -v $PWD/shellac.toml:/etc/shellac/shellac.toml:ro shellac
# The configuration must listen on 0.0.0.0 (or [::]) inside the container;
# the admin API stays on loopback unless admin.token_file is set.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The same flags CI checks (cmd/shellac/build_test.go): static, stripped,
# reproducible paths, the VCS revision stamped for `shellac version`.
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=true -ldflags="-s -w" -o /out/shellac ./cmd/shellac

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/shellac /usr/local/bin/shellac
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/shellac"]
CMD ["-config", "/etc/shellac/shellac.toml"]
