#!/bin/sh
# Creates the two-container project "shop" (a database and a web server) the way `docker compose up -d` would:
# the same container, network and volume names, and the com.docker.compose.* labels that a jmigrate job's
# `project: shop` selects. Only the docker CLI is needed (no compose binary).
#
#   ./up.sh                 # postgres and nginx, web on http://127.0.0.1:8080
#   ./down.sh               # removes it all again (volumes included)
#
# Environment: DOCKER_HOST (which engine), PROJECT (default shop), DB_IMAGE, WEB_IMAGE, WEB_PORT.
# The database image must provide pg_isready and pg_dumpall (the job's hook uses them).
set -eu
PROJECT=${PROJECT:-shop}
DB_IMAGE=${DB_IMAGE:-postgres:16-alpine}
WEB_IMAGE=${WEB_IMAGE:-nginx:1.27-alpine}
WEB_PORT=${WEB_PORT:-8080}

compose_labels() { # SERVICE
  echo "--label com.docker.compose.project=$PROJECT --label com.docker.compose.service=$1" \
    "--label com.docker.compose.container-number=1 --label com.docker.compose.oneoff=False"
}

docker network create --label "com.docker.compose.project=$PROJECT" --label com.docker.compose.network=default \
  "${PROJECT}_default" >/dev/null
for v in db-data web-content; do
  docker volume create --label "com.docker.compose.project=$PROJECT" --label "com.docker.compose.volume=$v" \
    "${PROJECT}_$v" >/dev/null
done

# The database. jmigrate.consistency=stop: a clean shutdown for its snapshot, whatever the job says.
# shellcheck disable=SC2046
docker run -d --name "$PROJECT-db-1" $(compose_labels db) --label jmigrate.consistency=stop \
  --network "${PROJECT}_default" --network-alias db --restart unless-stopped \
  -e POSTGRES_PASSWORD=example -v "${PROJECT}_db-data:/var/lib/postgresql/data" \
  --health-cmd 'pg_isready -U postgres' --health-interval 5s --health-timeout 5s --health-retries 10 \
  "$DB_IMAGE" >/dev/null

# The web server, which serves the content volume and talks to "db" on the project network.
# shellcheck disable=SC2046
docker run -d --name "$PROJECT-web-1" $(compose_labels web) \
  --network "${PROJECT}_default" --network-alias web --restart unless-stopped \
  -p "127.0.0.1:$WEB_PORT:80" -v "${PROJECT}_web-content:/usr/share/nginx/html" \
  "$WEB_IMAGE" >/dev/null

# Some content, so that the backup has something to show.
docker exec "$PROJECT-web-1" sh -c 'echo "<h1>$(hostname) of the shop</h1>" > /usr/share/nginx/html/index.html'
echo "project $PROJECT is up: $PROJECT-db-1, $PROJECT-web-1 (http://127.0.0.1:$WEB_PORT)"
