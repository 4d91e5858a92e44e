"""What a Python user of fsql serve does, through ADBC's Flight SQL driver.

Run by tests/serve_adbc.rs with the address and credentials; prints one
line per check and exits non-zero on the first failure.
"""
import sys

import adbc_driver_flightsql
import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager
import pyarrow.compute as pc

uri, user, password, token = sys.argv[1:5]


def connect(**db_kwargs):
    return flight_sql.connect(uri, db_kwargs=db_kwargs, autocommit=True)


# Credentials: the right ones work, wrong ones are refused.
with connect(username=user, password=password) as conn:
    with conn.cursor() as cur:
        cur.execute("SELECT 41 + 1 AS answer")
        assert cur.fetchone() == (42,), "basic auth query"
print("basic auth ok")
try:
    with connect(username=user, password="not-the-password") as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchall()
    raise SystemExit("a wrong password was accepted")
except adbc_driver_manager.Error as e:
    assert "UNAUTHENTICATED" in str(e).upper() or "Unauthenticated" in str(e), e
print("wrong password refused")
header = adbc_driver_flightsql.DatabaseOptions.AUTHORIZATION_HEADER.value
with connect(**{header: f"Bearer {token}"}) as conn:
    with conn.cursor() as cur:
        # A script: its last dataframe is the result.
        cur.execute(
            "sales = CREATE [['a', 3], ['b', 5], ['a', 7]] SCHEMA region:str, units:long\n"
            "SELECT region, SUM(units) AS units FROM sales GROUP BY region ORDER BY region"
        )
        table = cur.fetch_arrow_table()
        assert table.column_names == ["region", "units"], table.schema
        assert table.to_pylist() == [
            {"region": "a", "units": 10},
            {"region": "b", "units": 5},
        ], table.to_pylist()
        print("script ok")
        # pandas, as in the README.
        cur.execute("SELECT * FROM sales WHERE units > ? ORDER BY units", parameters=(4,))
        df = cur.fetch_df()
        assert list(df["units"]) == [5, 7], df
        print("parameter and pandas ok")
        # A bigger result arrives whole, batch by batch.
        cur.execute("SELECT value, value % 7 AS m FROM generate_series(1, 1000000)")
        big = cur.fetch_arrow_table()
        assert big.num_rows == 1_000_000, big.num_rows
        assert pc.sum(big.column("value")).as_py() == 1_000_000 * 1_000_001 // 2
        print("million rows ok")
        # Errors say where.
        try:
            cur.execute("SELECT * FROM no_such_table")
            raise SystemExit("no error for a missing table")
        except adbc_driver_manager.Error as e:
            assert "no_such_table" in str(e), e
        print("error ok")
    # Bulk ingestion (pandas users' upload): create, append, refuse a
    # second create, replace; a temporary table is the connection's own.
    import pyarrow as pa

    data = pa.table({"k": pa.array([1, 2, 3], pa.int64()), "name": ["x", "y", "z"]})
    with conn.cursor() as cur:
        assert cur.adbc_ingest("uploaded", data, mode="create") == 3
        assert cur.adbc_ingest("uploaded", data, mode="append") == 3
        cur.execute("SELECT COUNT(*) AS n, SUM(k) AS s FROM uploaded")
        assert cur.fetchone() == (6, 12)
        try:
            cur.adbc_ingest("uploaded", data, mode="create")
            raise SystemExit("a second create was accepted")
        except adbc_driver_manager.Error as e:
            assert "already exists" in str(e), e
        assert cur.adbc_ingest("uploaded", data.slice(0, 1), mode="replace") == 1
        cur.execute("SELECT COUNT(*) FROM uploaded")
        assert cur.fetchone() == (1,)
        cur.adbc_ingest("scratch", data, mode="create", temporary=True)
        cur.execute("SELECT COUNT(*) FROM scratch")
        assert cur.fetchone() == (3,)
    with connect(**{header: f"Bearer {token}"}) as other:
        with other.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM uploaded")
            assert cur.fetchone() == (1,)
            try:
                cur.execute("SELECT COUNT(*) FROM scratch")
                raise SystemExit("another connection saw a temporary table")
            except adbc_driver_manager.Error as e:
                assert "scratch" in str(e), e
    print("ingest ok")
    # Metadata: the connection's dataframes, with their columns.
    objects = conn.adbc_get_objects(depth="all").read_all().to_pylist()
    tables = {
        t["table_name"]: [c["column_name"] for c in t["table_columns"]]
        for cat in objects
        for s in cat["catalog_db_schemas"]
        for t in s["db_schema_tables"]
    }
    assert tables.get("sales") == ["region", "units"], tables
    schema = conn.adbc_get_table_schema("sales")
    assert schema.names == ["region", "units"], schema
    assert "VIEW" in conn.adbc_get_table_types()
    info = conn.adbc_get_info()
    assert info["vendor_name"] == "fsql", info
    print("metadata ok")
