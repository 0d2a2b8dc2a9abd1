"""The ingestion service's endpoints, one `APIRouter` per resource."""
