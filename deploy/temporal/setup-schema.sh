#!/bin/sh
# One-shot: create Temporal's two PostgreSQL databases and bring their schemas to the
# version this server image ships. Safe to run again: existing databases are kept and
# update-schema only applies what is missing.
set -eu

tool() {
  target=$1
  shift
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" \
    -u "$POSTGRES_USER" --pw "$POSTGRES_PWD" --db "$target" "$@"
}

schema_root=/etc/temporal/schema/postgresql/v12
for db in temporal temporal_visibility; do
  case "$db" in
    temporal) versioned="$schema_root/temporal/versioned" ;;
    *) versioned="$schema_root/visibility/versioned" ;;
  esac
  # `create` refuses an existing database; that is the restart case, not an error.
  tool "$db" create || echo "database $db already exists"
  tool "$db" setup-schema -v 0.0
  tool "$db" update-schema -d "$versioned"
done
echo "Temporal schemas are up to date"
