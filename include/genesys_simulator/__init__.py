"""A local stand-in for the Genesys Cloud Analytics conversation details API."""

from __future__ import annotations

from include.genesys_simulator.config import SimulatorConfig
from include.genesys_simulator.dataset import Dataset
from include.genesys_simulator.faults_profile import PROFILES, FaultProfile
from include.genesys_simulator.server import SimulatorServer
from include.genesys_simulator.timeline import MAX_DURATION_MS

__all__ = ["MAX_DURATION_MS", "PROFILES", "Dataset", "FaultProfile", "SimulatorConfig", "SimulatorServer"]
