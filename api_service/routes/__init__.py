"""The insights API's endpoints, one `APIRouter` per resource."""
