--
-- Helpers for the other tests, which run after this one in the same
-- database.
--

-- run a statement; "ok", or its error as "SQLSTATE: message (detail)"
CREATE FUNCTION try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  detail text;
BEGIN
  EXECUTE stmt;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
  RETURN SQLSTATE || ': ' || SQLERRM || coalesce(' (' || nullif(detail, '') || ')', '');
END $$;
GRANT EXECUTE ON FUNCTION try(text) TO PUBLIC;

-- little-endian float32 bytes of an array
CREATE FUNCTION f32le(v real[]) RETURNS bytea LANGUAGE sql AS $$
  SELECT coalesce(string_agg(
           set_byte(set_byte(set_byte(set_byte('\x00000000'::bytea,
             0, get_byte(b, 3)), 1, get_byte(b, 2)), 2, get_byte(b, 1)), 3, get_byte(b, 0)),
           '' ORDER BY o), '')
  FROM unnest(v) WITH ORDINALITY AS u(x, o), float4send(x) AS b $$;

-- a little-endian uint64
CREATE FUNCTION u64le(n bigint) RETURNS bytea LANGUAGE sql AS $$
  SELECT decode(string_agg(lpad(to_hex((n >> (8 * i)) & 255), 2, '0'), '' ORDER BY i), 'hex')
  FROM generate_series(0, 7) AS i $$;

-- a safetensors file from its JSON header and data
CREATE FUNCTION st(header text, data bytea) RETURNS bytea LANGUAGE sql AS $$
  SELECT u64le(octet_length(convert_to(header, 'UTF8'))) || convert_to(header, 'UTF8') || data $$;

-- run query q into the temporary table tab through a parallel plan, checked
-- to be one (CREATE TABLE AS may run in parallel, INSERT ... SELECT never)
CREATE FUNCTION parallel_into(tab text, q text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  plan text;
BEGIN
  EXECUTE format('EXPLAIN (COSTS OFF) CREATE TEMP TABLE %I AS %s', tab, q) INTO plan;
  IF plan <> 'Gather' THEN
    RAISE EXCEPTION 'not a parallel plan: %', plan;
  END IF;
  EXECUTE format('CREATE TEMP TABLE %I AS %s', tab, q);
END $$;
