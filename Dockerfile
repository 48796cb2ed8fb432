# Tollgate: Debian's nginx with ngx_http_gw_module.so, and gwctl.
#   docker build -t tollgate .
#   docker run --rm -p 8080:8080 -p 8083:8083 tollgate
# API keys need a Redis: point conf/demo/redis.conf (gw_redis) at it.

FROM debian:bookworm-slim AS build

RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        gcc make pkg-config nginx nginx-dev libssl-dev libjansson-dev \
        libjwt-dev libpcre2-dev zlib1g-dev libhiredis-dev libluajit2-5.1-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY auto/ auto/
COPY lib/ lib/
COPY ngx_modules/ ngx_modules/
COPY cli/ cli/
COPY Makefile ./
RUN make module build/gwctl


FROM debian:bookworm-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        nginx libjansson4 libssl3 libhiredis0.14 libluajit2-5.1-2 openssl \
        ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /var/lib/tollgate/logs /var/lib/tollgate/tmp \
    && ln -s /usr/lib/nginx/modules /var/lib/tollgate/modules \
    && ln -sf /dev/stderr /var/lib/tollgate/logs/error.log \
    && ln -sf /dev/stdout /var/lib/tollgate/logs/access.log

COPY --from=build /src/build/ngx_http_gw_module.so /usr/lib/nginx/modules/
COPY --from=build /src/build/gwctl /usr/local/bin/
COPY conf/ /etc/tollgate/
COPY plugins/ /var/lib/tollgate/plugins/
COPY scripts/docker-entrypoint.sh /usr/local/bin/tollgate-entrypoint
RUN echo 'listen 8080;' > /etc/tollgate/demo/listen.conf \
    && echo 'listen 8083;' > /etc/tollgate/demo/admin-listen.conf \
    && nginx -V 2>&1 | head -1

# 8083: the admin port (Prometheus /metrics, /readyz)
EXPOSE 8080 8083
STOPSIGNAL SIGQUIT
ENTRYPOINT ["/usr/local/bin/tollgate-entrypoint"]
CMD ["nginx", "-p", "/var/lib/tollgate/", "-c", "/etc/tollgate/tollgate.conf", "-g", "daemon off;"]
