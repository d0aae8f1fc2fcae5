#!/bin/sh
# Removes what up.sh created: both containers, their network and their volumes (the data is gone afterwards).
set -u
PROJECT=${PROJECT:-shop}
docker rm -f "$PROJECT-web-1" "$PROJECT-db-1" >/dev/null 2>&1
docker network rm "${PROJECT}_default" >/dev/null 2>&1
docker volume rm "${PROJECT}_db-data" "${PROJECT}_web-content" >/dev/null 2>&1
echo "project $PROJECT is down"
exit 0
