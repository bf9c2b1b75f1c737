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

{{/* Where the pod mounts its certificate Secret (cert-manager's ca.crt, tls.crt, tls.key). */}}
{{- define "nova.tlsDir" -}}
/etc/nova/tls
{{- end -}}

{{/* A `NOVA_*` variable read from a Secret: name, secret, key. */}}
{{- define "nova.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
{{- end -}}

{{/*
The pod template, shared by the Deployment and the Rollout. It meets the Restricted Pod
Security Standard: a non-root user, no privilege escalation, every capability dropped, the
runtime's default seccomp profile, a read-only root filesystem with emptyDir volumes where the
service writes (/tmp and its data directory), and no Kubernetes API token.
*/}}
{{- define "nova.podTemplate" -}}
metadata:
  labels:
    {{- include "nova.labels" . | nindent 4 }}
  annotations:
    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
spec:
  serviceAccountName: {{ .Values.service.fullname }}
  automountServiceAccountToken: false
  # Covers the runtime's drain delay and grace (NOVA_SHUTDOWN_*), with room to exit.
  terminationGracePeriodSeconds: {{ .Values.shutdown.terminationGracePeriodSeconds }}
  securityContext:
    runAsNonRoot: true
    runAsUser: {{ .Values.podSecurity.runAsUser }}
    runAsGroup: {{ .Values.podSecurity.runAsGroup }}
    fsGroup: {{ .Values.podSecurity.fsGroup }}
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: {{ .Values.service.name | replace "_" "-" }}
      image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      securityContext:
        privileged: false
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        runAsNonRoot: true
        capabilities:
          drop:
            - ALL
      # Only these two: gRPC (mTLS) and the plaintext metrics listener (/metrics, /readyz, /livez).
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
      # Secrets come from Secrets, never from values or the ConfigMap.
      env:
        - name: NOVA_TLS_CA
          value: {{ include "nova.tlsDir" . }}/ca.crt
        - name: NOVA_TLS_CERT
          value: {{ include "nova.tlsDir" . }}/tls.crt
        - name: NOVA_TLS_KEY
          value: {{ include "nova.tlsDir" . }}/tls.key
        {{- include "nova.secretEnv" (dict "name" "NOVA_REDIS_URL" "secret" .Values.redis.urlSecret.name "key" .Values.redis.urlSecret.key) | nindent 8 }}
        {{- include "nova.secretEnv" (dict "name" "NOVA_CACHE_KEY" "secret" .Values.cache.keySecret.name "key" .Values.cache.keySecret.key) | nindent 8 }}
        {{- with .Values.database }}
        {{- include "nova.secretEnv" (dict "name" "NOVA_DATABASE_URL" "secret" .urlSecret.name "key" .urlSecret.key) | nindent 8 }}
        {{- end }}
        {{- with .Values.events }}
        {{- include "nova.secretEnv" (dict "name" "NOVA_NATS_URL" "secret" .natsUrlSecret.name "key" .natsUrlSecret.key) | nindent 8 }}
        {{- end }}
        {{- range .Values.secretEnv }}
        {{- include "nova.secretEnv" (dict "name" .name "secret" .secretName "key" .key) | nindent 8 }}
        {{- end }}
      volumeMounts:
        - name: tls
          mountPath: {{ include "nova.tlsDir" . }}
          readOnly: true
        - name: tmp
          mountPath: /tmp
        - name: data
          mountPath: {{ .Values.storage.dataDir }}
      # kubelet's probes cannot speak mTLS: the runtime answers them on the metrics listener.
      readinessProbe:
        httpGet:
          path: /readyz
          port: metrics
        periodSeconds: 5
        failureThreshold: 2
      livenessProbe:
        httpGet:
          path: /livez
          port: metrics
        periodSeconds: 10
        failureThreshold: 6
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
  volumes:
    - name: tls
      secret:
        secretName: {{ .Values.tls.secretName }}
        # Readable by the pod's group (fsGroup) only.
        defaultMode: 0440
    - name: tmp
      emptyDir:
        sizeLimit: {{ .Values.storage.tmpSizeLimit }}
    - name: data
      emptyDir:
        sizeLimit: {{ .Values.storage.dataSizeLimit }}
{{- end -}}
