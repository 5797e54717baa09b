# The design's compliance.rego, adapted to cleanimg's policy input document (docs/policy.md).
# Evaluate with: cleanimg-init policy eval --image REF --policy docs/examples/compliance.rego
# (needs the opa executable on PATH; the decision is data.deployment.allow).
package deployment

import rego.v1

# FedRAMP SI-2 / SR-4: provenance (SLSA v1.0 Build track; there is no "Level 4" in SLSA v1.0)
require_slsa_provenance if {
	input.image.provenance.verified
	input.image.provenance.level >= 1
}

require_sbom if {
	input.image.sbom.verified
	input.image.sbom.format == "spdx-3.0.1"
}

require_vulnerability_assessment if {
	input.image.vex.complete
	input.image.vex.affected == 0
}

require_signature if {
	input.image.signature.valid
	input.image.signature.signer == input.trust.signingKey
}

# ISO/IEC 27001:2022 A.8.25-8.31 (A.14.2 in the 2013 numbering): secure development
require_secure_build if {
	input.image.build.hermetic == true
	input.image.build.tool in {"cleanimg"}
}

default allow := false

allow if {
	require_slsa_provenance
	require_sbom
	require_vulnerability_assessment
	require_signature
	require_secure_build
}
