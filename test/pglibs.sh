# Sourced by the scripts that build standalone programs against PostgreSQL's
# frontend libraries: sets pglibs to libpgcommon.a and libpgport.a (palloc
# and friends, the JSON parser), or exits.  Debian keeps them in pkglibdir.
pglibs=
for dir in "$(${PG_CONFIG:-pg_config} --libdir)" "$(${PG_CONFIG:-pg_config} --pkglibdir)"; do
	if [ -f "$dir/libpgcommon.a" ] && [ -f "$dir/libpgport.a" ]; then
		pglibs="$dir/libpgcommon.a $dir/libpgport.a"
		break
	fi
done
if [ -z "$pglibs" ]; then
	echo "libpgcommon.a and libpgport.a not found under pg_config --libdir or --pkglibdir" >&2
	exit 1
fi
