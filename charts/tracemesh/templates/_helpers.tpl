{{/* Labels on every object's metadata (selectors use app.kubernetes.io/name only). */}}
{{- define "tracemesh.labels" -}}
app.kubernetes.io/part-of: tracemesh
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{/* "restricted" Pod Security: the container half. */}}
{{- define "tracemesh.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end }}

{{/* Downward-API variables; they come first so later values can use $(POD_NAME) etc. */}}
{{- define "tracemesh.downwardEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef: { fieldPath: metadata.name }
- name: POD_NAMESPACE
  valueFrom:
    fieldRef: { fieldPath: metadata.namespace }
- name: NODE_NAME
  valueFrom:
    fieldRef: { fieldPath: spec.nodeName }
- name: HOST_IP
  valueFrom:
    fieldRef: { fieldPath: status.hostIP }
{{- end }}

{{/* OTLP to the Collector on the pod's own node, and the Kubernetes resource attributes. */}}
{{- define "tracemesh.otelEnv" -}}
- name: OTEL_SERVICE_NAME
  value: {{ .name | quote }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: "http://$(HOST_IP):4318"
- name: OTEL_RESOURCE_ATTRIBUTES
  value: "k8s.pod.name=$(POD_NAME),k8s.namespace.name=$(POD_NAMESPACE),k8s.node.name=$(NODE_NAME),deployment.environment.name=$(DEPLOYMENT_ENVIRONMENT)"
{{- end }}

{{- define "tracemesh.image" -}}
{{ printf "%s/%s:%s" .root.Values.image.repository .name .root.Values.image.tag }}
{{- end }}

{{/* The failure scenarios' flag file (templates/flags.yaml), for the pods that act on a scenario. */}}
{{- define "tracemesh.flagsEnv" -}}
- name: FLAGD_OFFLINE_FLAG_SOURCE_PATH
  value: "/etc/tracemesh/flags/flags.json"
{{- end }}

{{/* A directory mount, never subPath: a subPath mount never sees the kubelet's update of the ConfigMap. */}}
{{- define "tracemesh.flagsMount" -}}
- name: flags
  mountPath: /etc/tracemesh/flags
  readOnly: true
{{- end }}

{{- define "tracemesh.flagsVolume" -}}
- name: flags
  configMap:
    name: tracemesh-flags
{{- end }}
