"""
Example Airflow DAG: start the deployed sync, wait for the table's completion marker, then read its metadata.

The marker layout is mysql-redshift-sync's contract (README, "Completion markers"):
    s3://<completion bucket>/completion_markers/<pipeline>/<schema.table>/<YYYYMMDD_HHMMSS>/
        execution_metadata.json   table_metrics.json   completion_marker.txt  (written last)
The folder is stamped with the run's actual start (UTC). A daily DAG's run for the interval ending today starts the
sync today, so the sensor matches on data_interval_end's date (not ds, the interval's start).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

PIPELINE = "us_dw_hybrid_v1_2"
TABLE = "settlement.settle_orders"
COMPLETION_BUCKET = "airflow-completion-markers"
STATE_MACHINE_ARN = "{{ var.value.mrsync_state_machine_arn }}"  # stack output StateMachineArn
RUN_DAY = "{{ data_interval_end.strftime('%Y%m%d') }}"
MARKER_PREFIX = f"completion_markers/{PIPELINE}/{TABLE}/{RUN_DAY}_"

with DAG(
    dag_id="settlement_sync",
    start_date=datetime(2025, 9, 12),
    schedule="0 2 * * *",
    catchup=False,
    default_args={"owner": "data-team", "retries": 1, "retry_delay": timedelta(minutes=5)},
) as dag:
    # Starts the execution and returns at once (exit 2 on a config/usage error); the sensor does the waiting.
    start_sync = BashOperator(
        task_id="start_sync",
        bash_command=(
            f"npx mrsync sync pipeline -p {PIPELINE} -t {TABLE} "
            f"--state-machine-arn {STATE_MACHINE_ARN} --s3-completion-bucket {COMPLETION_BUCKET}"
        ),
        cwd="/opt/mysql-redshift-sync",
    )

    # Fires only when completion_marker.txt exists, i.e. after the other two files were written.
    wait_for_marker = S3KeySensor(
        task_id="wait_for_completion_marker",
        bucket_name=COMPLETION_BUCKET,
        bucket_key=f"{MARKER_PREFIX}*/completion_marker.txt",
        wildcard_match=True,
        poke_interval=30,
        timeout=3 * 3600,
        mode="reschedule",
    )

    def read_metadata(**context) -> int:
        hook = S3Hook()
        prefix = context["templates_dict"]["prefix"]
        markers = sorted(k for k in hook.list_keys(COMPLETION_BUCKET, prefix=prefix) if k.endswith("/completion_marker.txt"))
        folder = markers[-1].rsplit("/", 1)[0]
        metadata = json.loads(hook.read_key(f"{folder}/execution_metadata.json", COMPLETION_BUCKET))
        rows = metadata["summary"]["total_rows_processed"]
        print(f"{metadata['execution_id']}: {TABLE} synced {rows} rows ({metadata['status']})")
        return rows

    process = PythonOperator(
        task_id="process_synced_rows",
        python_callable=read_metadata,
        templates_dict={"prefix": MARKER_PREFIX},
    )

    start_sync >> wait_for_marker >> process
