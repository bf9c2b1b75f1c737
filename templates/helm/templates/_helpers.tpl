{{/* Labels shared by every object of one service. */}}
{{- define "nova.labels" -}}
app.kubernetes.io/name: {{ .Values.service.fullname }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: nova
app.kubernetes.io/managed-by: {{ .Release.Service }}
nova.dev/service: {{ .Values.service.name }}
{{- end -}}

{{- define "nova.selector" -}}
app.kubernetes.io/name: {{ .Values.service.fullname }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The pod template, shared by the Deployment and the Rollout. */}}
{{- define "nova.podTemplate" -}}
metadata:
  labels:
    {{- include "nova.labels" . | nindent 4 }}
  annotations:
    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
spec:
  # Covers the runtime's drain delay and grace (NOVA_SHUTDOWN_*), with room to exit.
  terminationGracePeriodSeconds: {{ .Values.shutdown.terminationGracePeriodSeconds }}
  containers:
    - name: {{ .Values.service.name | replace "_" "-" }}
      image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      ports:
        - name: grpc
          containerPort: {{ .Values.ports.grpc }}
          protocol: TCP
        - name: metrics
          containerPort: {{ .Values.ports.metrics }}
          protocol: TCP
      envFrom:
        - configMapRef:
            name: {{ .Values.service.fullname }}
      {{- with .Values.database }}
      env:
        - name: NOVA_DATABASE_URL
          valueFrom:
            secretKeyRef:
              name: {{ .urlSecret.name }}
              key: {{ .urlSecret.key }}
      {{- end }}
      readinessProbe:
        grpc:
          port: {{ .Values.ports.grpc }}
        periodSeconds: 5
        failureThreshold: 2
      livenessProbe:
        grpc:
          port: {{ .Values.ports.grpc }}
        periodSeconds: 10
        failureThreshold: 6
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
{{- end -}}
