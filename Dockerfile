# The Airflow image with userops' locked dependencies (same lock as `make setup`).
FROM apache/airflow:3.3.2-python3.11
COPY requirements.lock /opt/userops/requirements.lock
RUN pip install --no-cache-dir uv==0.13.9 \
 && uv pip install --no-cache --python "$(command -v python)" -r /opt/userops/requirements.lock
WORKDIR /opt/userops
