-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION gnnjit" to load this file. \quit

-- Models: written only by gnnjit's functions, which check ownership.
CREATE TABLE @extschema@.gnn_model_catalog (
    name         text PRIMARY KEY,
    owner        regrole NOT NULL,
    spec         jsonb NOT NULL,
    weights      bytea NOT NULL,
    input_width  integer NOT NULL,
    output_width integer NOT NULL,
    layers       text NOT NULL,
    parameters   bigint NOT NULL,
    created      timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON @extschema@.gnn_model_catalog FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.gnn_model_catalog', '');

CREATE VIEW @extschema@.gnn_models AS
    SELECT name, owner, input_width, output_width, layers, parameters, created
    FROM @extschema@.gnn_model_catalog;
GRANT SELECT ON @extschema@.gnn_models TO PUBLIC;

CREATE FUNCTION @extschema@.gnn_create_model(name text, spec jsonb, weights bytea)
RETURNS void
AS 'MODULE_PATHNAME', 'gnn_create_model'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION @extschema@.gnn_load_model(name text, spec jsonb, path text)
RETURNS void
AS 'MODULE_PATHNAME', 'gnn_load_model'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION @extschema@.gnn_drop_model(name text, if_exists boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'gnn_drop_model'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION @extschema@.gnn_model_program(name text)
RETURNS text
AS 'MODULE_PATHNAME', 'gnn_model_program'
LANGUAGE C STRICT STABLE;

-- The model's layers; each built-in message-passing layer with the module
-- program it is written as (the form of a "Program" layer)
CREATE FUNCTION @extschema@.gnn_model_layers(name text)
RETURNS TABLE (layer integer, type text, in_width integer, out_width integer,
               modules jsonb)
AS 'MODULE_PATHNAME', 'gnn_model_layers'
LANGUAGE C STRICT STABLE;

CREATE FUNCTION @extschema@.gnn_infer_support(internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'gnn_infer_support'
LANGUAGE C STRICT;

CREATE FUNCTION @extschema@.gnn_infer(
    model    text,
    edges    regclass,
    nodes    regclass,
    src      name DEFAULT 'src',
    dst      name DEFAULT 'dst',
    weight   name DEFAULT NULL,
    id       name DEFAULT 'id',
    features name DEFAULT 'features',
    strategy text DEFAULT 'full',
    batch_size integer DEFAULT 1024,
    fanout   integer[] DEFAULT NULL,
    seed     bigint DEFAULT 0,
    relation name DEFAULT NULL)
RETURNS TABLE (node_id bigint, embedding real[])
AS 'MODULE_PATHNAME', 'gnn_infer'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL SAFE ROWS 1000
SUPPORT @extschema@.gnn_infer_support;

-- Graphs: named node and edge tables by type, written only by gnnjit's
-- functions, which check ownership.
CREATE TABLE @extschema@.gnn_graph_catalog (
    name    text PRIMARY KEY,
    owner   regrole NOT NULL,
    nodes   jsonb NOT NULL,
    edges   jsonb NOT NULL,
    created timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON @extschema@.gnn_graph_catalog FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.gnn_graph_catalog', '');

CREATE VIEW @extschema@.gnn_graphs AS
    SELECT name, owner,
           ARRAY(SELECT pg_catalog.jsonb_object_keys(nodes)) AS node_types,
           ARRAY(SELECT pg_catalog.jsonb_object_keys(edges)) AS edge_types,
           nodes, edges, created
    FROM @extschema@.gnn_graph_catalog;
GRANT SELECT ON @extschema@.gnn_graphs TO PUBLIC;

CREATE FUNCTION @extschema@.gnn_create_graph(name text, nodes jsonb, edges jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'gnn_create_graph'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION @extschema@.gnn_drop_graph(name text, if_exists boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'gnn_drop_graph'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION @extschema@.gnn_infer(
    model     text,
    graph     text,
    node_type text DEFAULT NULL)
RETURNS TABLE (node_id bigint, embedding real[])
AS 'MODULE_PATHNAME', 'gnn_infer_named'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL SAFE ROWS 1000
SUPPORT @extschema@.gnn_infer_support;

CREATE FUNCTION @extschema@.gnn_jit_stats(
    OUT available boolean,
    OUT compiles bigint,
    OUT functions bigint,
    OUT cache_hits bigint,
    OUT generate_ms double precision,
    OUT emit_ms double precision)
AS 'MODULE_PATHNAME', 'gnn_jit_stats'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION @extschema@.gnn_last_inference()
RETURNS TABLE (layer integer, type text, ms double precision, jit boolean)
AS 'MODULE_PATHNAME', 'gnn_last_inference'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION @extschema@.gnn_generate_graph(
    nodes_table   text,
    edges_table   text,
    num_nodes     bigint,
    num_edges     bigint,
    feature_width integer DEFAULT 128,
    seed          bigint DEFAULT 1,
    a             double precision DEFAULT 0.57,
    b             double precision DEFAULT 0.19,
    c             double precision DEFAULT 0.19,
    unlogged      boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'gnn_generate_graph'
LANGUAGE C STRICT VOLATILE;

-- Running inferences, like pg_stat_progress_create_index
CREATE FUNCTION @extschema@.gnn_stat_progress_raw(
    OUT pid integer, OUT datid oid, OUT model_hash integer, OUT nodes oid,
    OUT phase text, OUT layer integer, OUT layers integer,
    OUT nodes_done bigint, OUT nodes_total bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'gnn_stat_progress'
LANGUAGE C STRICT VOLATILE;

CREATE VIEW @extschema@.gnn_stat_progress AS
    SELECT p.pid, d.datname, m.name AS model, p.nodes::regclass AS nodes,
           p.phase, p.layer, p.layers, p.nodes_done, p.nodes_total
    FROM @extschema@.gnn_stat_progress_raw() AS p
    LEFT JOIN pg_catalog.pg_database AS d ON d.oid = p.datid
    LEFT JOIN @extschema@.gnn_models AS m ON pg_catalog.hashtext(m.name COLLATE "C") = p.model_hash;
GRANT SELECT ON @extschema@.gnn_stat_progress TO PUBLIC;

-- Distributed inference: the shard side, called by a coordinator's gnn_infer
CREATE FUNCTION @extschema@.gnn_model_fingerprint(name text)
RETURNS text
AS 'MODULE_PATHNAME', 'gnn_model_fingerprint'
LANGUAGE C STRICT STABLE;

CREATE FUNCTION @extschema@.gnn_shard_open(
    model text, fingerprint text, edges regclass, nodes regclass,
    src name, dst name, weight name, id name, features name,
    modulus integer, remainder integer, bounds integer[] DEFAULT NULL)
RETURNS bytea
AS 'MODULE_PATHNAME', 'gnn_shard_open'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;

CREATE FUNCTION @extschema@.gnn_shard_serve(requests bytea)
RETURNS void
AS 'MODULE_PATHNAME', 'gnn_shard_serve'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION @extschema@.gnn_shard_step(halo bytea)
RETURNS bytea
AS 'MODULE_PATHNAME', 'gnn_shard_step'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION @extschema@.gnn_shard_fetch(max_rows integer)
RETURNS SETOF bytea
AS 'MODULE_PATHNAME', 'gnn_shard_fetch'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION @extschema@.gnn_shard_stats(
    OUT nodes bigint, OUT halo bigint, OUT edges bigint, OUT peak_bytes bigint,
    OUT compute_ms double precision, OUT jit boolean,
    OUT layer_ms double precision[], OUT busy_ms double precision)
AS 'MODULE_PATHNAME', 'gnn_shard_stats'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION @extschema@.gnn_shard_close()
RETURNS void
AS 'MODULE_PATHNAME', 'gnn_shard_close'
LANGUAGE C STRICT VOLATILE;

-- Distributed inference: laying a graph out over shard servers
CREATE FUNCTION @extschema@.gnn_shard_execute(server text, sql text)
RETURNS void
AS 'MODULE_PATHNAME', 'gnn_shard_execute'
LANGUAGE C STRICT VOLATILE;
REVOKE ALL ON FUNCTION @extschema@.gnn_shard_execute(text, text) FROM PUBLIC;

-- Copy a local graph into hash-partitioned tables whose partitions are
-- postgres_fdw foreign tables on the given servers (partition r on
-- servers[r]): nodes by hash(id), edges by hash(dst), so each shard holds
-- the in-edges of its nodes.  The new tables go in the node table's
-- schema; the shard tables <name>_<r> in a schema of that name on the
-- servers, created with gnnjit if missing (an existing table is an error,
-- never replaced), with an index on id and on dst.
CREATE FUNCTION @extschema@.gnn_distribute(
    edges      regclass,
    nodes      regclass,
    servers    text[],
    edges_name text,
    nodes_name text,
    dst        name DEFAULT 'dst',
    id         name DEFAULT 'id')
RETURNS TABLE (remainder integer, server text, node_rows bigint, edge_rows bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n      integer := coalesce(array_length(servers, 1), 0);
    nsp    text;
    tbl    regclass;
    cols   text;
    idx    text;
    remote text;
    parent text;
BEGIN
    IF n < 1 THEN
        RAISE EXCEPTION 'gnn_distribute needs at least one server'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT c.relnamespace::regnamespace::text INTO nsp FROM pg_class c WHERE c.oid = nodes;
    EXECUTE format('CREATE TABLE %I.%I (LIKE %s) PARTITION BY HASH (%I)', nsp, nodes_name, nodes, id);
    EXECUTE format('CREATE TABLE %I.%I (LIKE %s) PARTITION BY HASH (%I)', nsp, edges_name, edges, dst);

    FOR r IN 0 .. n - 1 LOOP
        FOREACH tbl IN ARRAY ARRAY[nodes, edges] LOOP
            SELECT string_agg(format('%I %s NOT NULL', a.attname,
                                     format_type(a.atttypid, a.atttypmod)), ', '
                              ORDER BY a.attnum)
                INTO cols
                FROM pg_attribute a
                WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped;
            IF tbl = nodes THEN
                parent := nodes_name;
                cols := cols || format(', PRIMARY KEY (%I)', id);
                idx := '';
            ELSE
                parent := edges_name;
                idx := format('; CREATE INDEX ON %I.%I (%I)', nsp, parent || '_' || r, dst);
            END IF;
            remote := parent || '_' || r;
            -- committed now, so that postgres_fdw's connection can fill it
            PERFORM @extschema@.gnn_shard_execute(servers[r + 1],
                format('CREATE EXTENSION IF NOT EXISTS gnnjit; '
                       'CREATE SCHEMA IF NOT EXISTS %I; CREATE TABLE %I.%I (%s)%s',
                       nsp, nsp, remote, cols, idx));
            EXECUTE format('CREATE FOREIGN TABLE %I.%I PARTITION OF %I.%I '
                           'FOR VALUES WITH (MODULUS %s, REMAINDER %s) SERVER %I '
                           'OPTIONS (schema_name %L, table_name %L, batch_size ''1000'')',
                           nsp, remote, nsp, parent, n, r, servers[r + 1], nsp, remote);
        END LOOP;
    END LOOP;

    EXECUTE format('INSERT INTO %I.%I SELECT * FROM %s', nsp, nodes_name, nodes);
    EXECUTE format('INSERT INTO %I.%I SELECT * FROM %s', nsp, edges_name, edges);
    EXECUTE format('ANALYZE %I.%I, %I.%I', nsp, nodes_name, nsp, edges_name);

    FOR r IN 0 .. n - 1 LOOP
        remainder := r;
        server := servers[r + 1];
        EXECUTE format('SELECT count(*) FROM %I.%I', nsp, nodes_name || '_' || r) INTO node_rows;
        EXECUTE format('SELECT count(*) FROM %I.%I', nsp, edges_name || '_' || r) INTO edge_rows;
        RETURN NEXT;
    END LOOP;
END
$$;
