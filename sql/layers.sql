--
-- Every layer type and option against the independent float64 reference
-- (tools/pyg_ref.py) on a graph with sparse ids, self loops, parallel edges,
-- isolated nodes and edge weights.  Fixtures: tools/gen_fixtures.py.
--
-- Tolerance: |gnnjit - reference| <= 1e-5 * max(|reference|, 1).
--
\set fx 'test/fixtures'
CREATE TABLE g_nodes (id bigint, features real[]);
CREATE TABLE g_edges (src bigint, dst bigint, weight real, relation int);
\copy g_nodes FROM 'test/fixtures/graph_nodes.csv' CSV HEADER
\copy g_edges FROM 'test/fixtures/graph_edges.csv' CSV HEADER
ANALYZE g_nodes, g_edges;

-- cases.txt lines: "<case>", "<case> weight" or "<case> relation"
\set cases `cat test/fixtures/cases.txt`
CREATE TABLE fx_case AS
  SELECT split_part(l, ' ', 1) AS name, split_part(l, ' ', 2) = 'weight' AS weighted,
         split_part(l, ' ', 2) = 'relation' AS relational
  FROM regexp_split_to_table(trim(:'cases', E'\n'), E'\n') AS l;

-- spec and weights of every case, read on the client
\set models `cd test/fixtures && for c in $(cut -d' ' -f1 cases.txt); do printf '%s\t%s\t%s\n' "$c" "$(base64 -w0 "$c.json")" "$(base64 -w0 "$c.safetensors")"; done`
CREATE TABLE fx_model AS
  SELECT split_part(l, E'\t', 1) AS name,
         convert_from(decode(split_part(l, E'\t', 2), 'base64'), 'UTF8')::jsonb AS spec,
         decode(split_part(l, E'\t', 3), 'base64') AS weights
  FROM regexp_split_to_table(trim(:'models', E'\n'), E'\n') AS l;

-- expected outputs "<case>,<id>,{...}"
\set expected `cd test/fixtures && for c in $(cut -d' ' -f1 cases.txt); do tail -n +2 "$c.out.csv" | tr -d '"' | sed "s/^/$c,/"; done`
CREATE TABLE fx_expected AS
  SELECT m[1] AS name, m[2]::bigint AS id, m[3]::real[] AS embedding
  FROM regexp_split_to_table(trim(:'expected', E'\n'), E'\n') AS l,
       regexp_match(l, '^([^,]+),([^,]+),(.*)$') AS m;

SELECT count(*) AS cases FROM fx_case;
SELECT count(*) FILTER (WHERE m.name IS NULL) AS cases_without_model
FROM fx_case c LEFT JOIN fx_model m USING (name);

SELECT gnn_create_model(name, spec, weights) FROM fx_model ORDER BY name;

-- one row per node, and every value within tolerance
SELECT c.name,
       count(r.node_id) = (SELECT count(*) FROM g_nodes) AS all_nodes,
       bool_and(array_length(r.embedding, 1) = array_length(e.embedding, 1)) AS widths,
       bool_and(ok) AS within_tolerance
FROM fx_case c
CROSS JOIN LATERAL gnn_infer(c.name, 'g_edges', 'g_nodes',
                             weight => CASE WHEN c.weighted THEN 'weight' END,
                             relation => CASE WHEN c.relational THEN 'relation' END) AS r
LEFT JOIN fx_expected e ON e.name = c.name AND e.id = r.node_id
CROSS JOIN LATERAL (
  SELECT coalesce(bool_and(abs(a - b) <= 1e-5 * greatest(abs(b), 1)), false) AS ok
  FROM unnest(r.embedding, e.embedding) AS u(a, b)) AS cmp
GROUP BY c.name
ORDER BY c.name;

-- the largest error seen, for the record (not printed: platform-dependent)
CREATE TABLE fx_err AS
SELECT c.name, max(abs(a - b) / greatest(abs(b), 1)) AS err
FROM fx_case c
CROSS JOIN LATERAL gnn_infer(c.name, 'g_edges', 'g_nodes',
                             weight => CASE WHEN c.weighted THEN 'weight' END,
                             relation => CASE WHEN c.relational THEN 'relation' END) AS r
JOIN fx_expected e ON e.name = c.name AND e.id = r.node_id
CROSS JOIN LATERAL unnest(r.embedding, e.embedding) AS u(a, b)
GROUP BY c.name;
SELECT max(err) < 1e-5 AS max_error_ok FROM fx_err;

-- the catalog view
SELECT name, input_width, output_width, layers, parameters > 0 AS has_params
FROM gnn_models WHERE name IN ('gcn', 'sage2', 'gat_heads', 'gin', 'mlp')
ORDER BY name;

-- the lowered module program of a 2-layer GraphSAGE and a GAT
SELECT gnn_model_program('sage2');
SELECT gnn_model_program('gat_heads');
