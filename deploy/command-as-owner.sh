#!/bin/sh
# @NAME@ for admins, installed by setup.sh as /usr/local/bin/@NAME@: the installed command,
# run as the user that owns @DATA@, whoever calls it. Files a command creates there (the
# database and its -wal, the run lock) then stay the service's own, doctor judges the
# readers' permissions as the service sees them, and nobody types the venv's path or
# `sudo -u`. Called by another user, it asks sudo (the admin's password).
set -eu
command=@BIN@
owner=$(stat -c %U @DATA@)
if [ "$(id -un)" = "$owner" ]; then
  exec "$command" "$@"
elif [ "$(id -u)" = 0 ]; then
  exec runuser -u "$owner" -- "$command" "$@"
else
  exec sudo -u "$owner" -- "$command" "$@"
fi
