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
    seed     bigint DEFAULT 0)
RETURNS TABLE (node_id bigint, embedding real[])
AS 'MODULE_PATHNAME', 'gnn_infer'
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
